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
import { BoundedCache } from '../core/bounded-cache.js';
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
  readonly #sets: BoundedCache<string, PreparedSet>;
  readonly #byInstance = new WeakMap<ToolRequest, PreparedSet>();

  constructor(
    private readonly schemas: SchemaCache,
    maxEntries = 256,
  ) {
    this.#sets = new BoundedCache(maxEntries);
  }

  /** The checked instance equal to `tools`; throws the client's 400 when the set is invalid. */
  prepare(tools: ToolRequest): ToolRequest {
    const key = createHash('sha256').update(JSON.stringify(tools)).digest('base64url');
    return this.#sets.getOrMake(key, () => {
      checkTools(tools, this.schemas);
      const set: PreparedSet = { tools };
      this.#byInstance.set(tools, set);
      return set;
    }).tools;
  }

  /** The instructions for `tools` (rendered once per prepared set). */
  systemPrompt(tools: ToolRequest): string {
    const set = this.#byInstance.get(tools);
    if (!set) return toolSystemPrompt(tools);
    return (set.prompt ??= toolSystemPrompt(tools));
  }
}
