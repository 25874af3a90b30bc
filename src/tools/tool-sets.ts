/**
 * One prepared instance per distinct set of offered tools.
 *
 * An agent offers the same tools (tens of KB of schemas) on every step. The first request with
 * a set checks it (every schema compiles, names are unique, a named choice is offered) and
 * renders its instructions; every later request with an equal set (same tools, choice and
 * parallel flag) gets that instance back after one serialisation and hash of the set, so the
 * checks and the rendering are not repeated and the request's own copy can be dropped early.
 * Bounded, oldest dropped first; one instance lives in the composed app.
 */
import { createHash } from 'node:crypto';
import type { ToolRequest } from '../core/tool-spec.js';
import { toolSystemPrompt } from './prompt.js';
import type { SchemaCache } from './schema-cache.js';
import { checkTools } from './tool-request.js';

interface PreparedSet {
  tools: ToolRequest;
  /** The injected instructions, rendered when first asked for. */
  prompt?: string;
}

export class ToolSets {
  readonly #sets = new Map<string, PreparedSet>();
  readonly #byInstance = new WeakMap<ToolRequest, PreparedSet>();

  constructor(
    private readonly schemas: SchemaCache,
    private readonly maxEntries = 256,
  ) {}

  /** The checked instance equal to `tools`; throws the client's 400 when the set is invalid. */
  prepare(tools: ToolRequest): ToolRequest {
    const key = createHash('sha256').update(JSON.stringify(tools)).digest('base64url');
    const hit = this.#sets.get(key);
    if (hit) return hit.tools;
    checkTools(tools, this.schemas);
    if (this.#sets.size >= this.maxEntries) this.#sets.delete(this.#sets.keys().next().value!);
    const set: PreparedSet = { tools };
    this.#sets.set(key, set);
    this.#byInstance.set(tools, set);
    return tools;
  }

  /** The instructions for `tools` (rendered once per prepared set). */
  systemPrompt(tools: ToolRequest): string {
    const set = this.#byInstance.get(tools);
    if (!set) return toolSystemPrompt(tools);
    return (set.prompt ??= toolSystemPrompt(tools));
  }
}
