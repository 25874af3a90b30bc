/**
 * What JSON types a tool's schema allows for one argument, so that the dialect can carry
 * strings as raw text and everything else as JSON literals. Follows local `$ref`s
 * (`#/$defs/…`, `#/definitions/…`) and unions (`anyOf`, `oneOf`, `allOf`, `enum`, `const`).
 */
import type { JsonSchema } from '../core/tool-spec.js';

export type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function resolveRef(root: JsonSchema, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObj(node)) return undefined;
    node = node[key];
  }
  return node;
}

function typeOfValue(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  const t = typeof v;
  return t === 'string' || t === 'boolean' || t === 'number' ? t : 'object';
}

/** The allowed types; an empty set means the schema does not say (anything goes). */
export function allowedTypes(root: JsonSchema, node: unknown, depth = 0): Set<JsonType> {
  const out = new Set<JsonType>();
  if (!isObj(node) || depth > 20) return out;
  if (typeof node.$ref === 'string') for (const t of allowedTypes(root, resolveRef(root, node.$ref), depth + 1)) out.add(t);
  const t = node.type;
  if (typeof t === 'string') out.add(t as JsonType);
  else if (Array.isArray(t)) for (const x of t) if (typeof x === 'string') out.add(x as JsonType);
  if (Array.isArray(node.enum)) for (const v of node.enum) out.add(typeOfValue(v));
  if ('const' in node) out.add(typeOfValue(node.const));
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const list = node[key];
    if (Array.isArray(list)) for (const sub of list) for (const x of allowedTypes(root, sub, depth + 1)) out.add(x);
  }
  if (out.size === 0 && (isObj(node.properties) || node.required !== undefined)) out.add('object');
  if (out.size === 0 && node.items !== undefined) out.add('array');
  return out;
}

/** The schema of one top-level argument of a tool, or undefined when the tool does not declare it. */
export function argumentSchema(root: JsonSchema, key: string): unknown {
  let node: unknown = root;
  for (let i = 0; i < 10 && isObj(node) && typeof node.$ref === 'string'; i++) node = resolveRef(root, node.$ref);
  if (!isObj(node)) return undefined;
  const props = node.properties;
  if (isObj(props) && Object.hasOwn(props, key)) return props[key];
  return undefined;
}
