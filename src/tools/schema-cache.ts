/**
 * Compiles tool and response schemas once and validates arguments against them.
 * One instance lives in the composed app (no module-level state); compiled validators are
 * cached by a hash of the schema text, bounded, oldest dropped first. Client schemas carry
 * keywords Ajv does not know (`strict:false`) and formats it has no checker for (ignored).
 * Draft-07 and older schemas are compiled as draft-07, everything else as 2020-12.
 */
import { createHash } from 'node:crypto';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { BoundedCache } from '../core/bounded-cache.js';
import type { JsonSchema } from '../core/tool-spec.js';

export interface SchemaCheck {
  ok: boolean;
  /** Human-readable validator messages (for the repair prompt and logs). */
  errors: string[];
}

export class SchemaCompileError extends Error {}

const OPTIONS = { strict: false, allErrors: true, validateFormats: false, logger: false } as const;

export class SchemaCache {
  readonly #draft07 = new Ajv(OPTIONS);
  readonly #draft2020 = new Ajv2020(OPTIONS);
  readonly #cache: BoundedCache<string, ValidateFunction>;

  constructor(maxEntries = 1_000) {
    this.#cache = new BoundedCache(maxEntries);
  }

  /** The compiled validator; throws SchemaCompileError with Ajv's reason when the schema is invalid. */
  compile(schema: JsonSchema): ValidateFunction {
    const text = JSON.stringify(schema);
    const key = createHash('sha256').update(text).digest('base64url');
    return this.#cache.getOrMake(key, () => {
      const { $schema, $id: _id, ...rest } = schema;
      const old = typeof $schema === 'string' && /draft-0[3-7]/.test($schema);
      try {
        return (old ? this.#draft07 : this.#draft2020).compile(rest);
      } catch (err) {
        throw new SchemaCompileError((err as Error).message);
      }
    });
  }

  check(schema: JsonSchema, value: unknown): SchemaCheck {
    const fn = this.compile(schema);
    if (fn(value)) return { ok: true, errors: [] };
    return { ok: false, errors: (fn.errors ?? []).slice(0, 10).map(describe) };
  }
}

function describe(e: ErrorObject): string {
  const at = e.instancePath === '' ? 'arguments' : `arguments${e.instancePath.replace(/\//g, '.')}`;
  const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : '';
  return `${at} ${e.message ?? 'is invalid'}${extra}`;
}
