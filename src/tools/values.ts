/**
 * Turns the parameters of a call written in the dialect into a JSON arguments object.
 * A string argument is the raw text between the tags; any other type is a JSON literal,
 * repaired with jsonrepair when malformed and coerced where the intent is plain ("5" for
 * an integer, a lone value for an array).
 */
import { jsonrepair } from 'jsonrepair';
import type { JsonSchema } from '../core/tool-spec.js';
import { allowedTypes, argumentSchema, type JsonType } from './schema-types.js';

export interface RawParam {
  name: string;
  /** Text between the tags, CDATA sections unwrapped. */
  value: string;
  /** The value was (entirely) a CDATA section: taken verbatim. */
  cdata: boolean;
  /** The type the model declared for the value (K3's `type="number"`); used only for arguments the schema does not declare. */
  typeHint?: string;
}

export class ArgumentError extends Error {}

/** Without CDATA, one line break right after the opening tag and one right before the closing tag are layout. */
export function rawText(p: RawParam): string {
  if (p.cdata) return p.value;
  let v = p.value;
  if (v.startsWith('\r\n')) v = v.slice(2);
  else if (v.startsWith('\n')) v = v.slice(1);
  if (v.endsWith('\r\n')) v = v.slice(0, -2);
  else if (v.endsWith('\n')) v = v.slice(0, -1);
  return v;
}

/** JSON.parse, then jsonrepair; undefined when neither gives a value. */
export function parseJsonLoose(text: string): { value: unknown; repaired: boolean } | undefined {
  try {
    return { value: JSON.parse(text) as unknown, repaired: false };
  } catch {
    try {
      return { value: JSON.parse(jsonrepair(text)) as unknown, repaired: true };
    } catch {
      return undefined;
    }
  }
}

function jsonType(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as JsonType;
}

function fits(v: unknown, types: Set<JsonType>): boolean {
  const t = jsonType(v);
  return types.has(t) || (t === 'integer' && types.has('number'));
}

function coerce(name: string, p: RawParam, types: Set<JsonType>): unknown {
  const raw = rawText(p);
  if (types.size === 1 && types.has('string')) return raw;
  const text = raw.trim();
  if (types.size === 0) {
    // Undeclared argument: structured values, and values the model typed as non-string, are read as JSON; the rest stays text.
    const hint = p.typeHint?.toLowerCase();
    if (hint === 'string') return raw;
    if (hint !== undefined || /^[[{]/.test(text)) {
      const parsed = parseJsonLoose(text);
      if (parsed && (hint !== undefined || typeof parsed.value === 'object')) return parsed.value;
    }
    return raw;
  }
  const literal = /^(?:true|false|null)$/i.test(text) ? text.toLowerCase() : text;
  const parsed = parseJsonLoose(literal);
  if (parsed !== undefined && fits(parsed.value, types)) return parsed.value;
  if (types.has('string')) return raw;
  if (types.has('array') && parsed !== undefined && !Array.isArray(parsed.value)) return [parsed.value];
  if (parsed !== undefined && typeof parsed.value === 'string') {
    const inner = parseJsonLoose(parsed.value);
    if (inner !== undefined && fits(inner.value, types)) return inner.value;
  }
  if (parsed !== undefined) return parsed.value; // schema validation reports the mismatch
  throw new ArgumentError(`parameter "${name}" must be a JSON ${[...types].join(' or ')} literal`);
}

/** The arguments object of a call from its raw parameters, typed by the tool's schema. */
export function argumentsFromParams(schema: JsonSchema, params: RawParam[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of params) {
    const types = allowedTypes(schema, argumentSchema(schema, p.name));
    Object.defineProperty(out, p.name, { value: coerce(p.name, p, types), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
