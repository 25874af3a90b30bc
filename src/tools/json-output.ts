/**
 * `response_format` emulation: finds the one JSON value in a reply (bare, fenced, or with
 * prose around it), repairs it when malformed, and checks it against the requested schema.
 */
import type { ResponseFormat } from '../core/tool-spec.js';
import type { SchemaCache } from './schema-cache.js';
import { parseJsonLoose } from './values.js';

export type JsonOutcome = { ok: true; json: string } | { ok: false; problems: string[] };

function candidates(text: string): string[] {
  const out: string[] = [];
  const t = text.trim();
  out.push(t);
  const fenced = /(?:```|~~~)[^\n]*\n([\s\S]*?)\n?\s*(?:```|~~~)/.exec(t);
  if (fenced) out.push(fenced[1]!.trim());
  const first = t.search(/[[{]/);
  if (first >= 0) {
    const close = t[first] === '{' ? '}' : ']';
    const last = t.lastIndexOf(close);
    if (last > first) out.push(t.slice(first, last + 1));
  }
  return out;
}

export function extractJson(text: string, format: Exclude<ResponseFormat, { kind: 'text' }>, schemas: SchemaCache): JsonOutcome {
  let problems: string[] = ['the reply contains no JSON value'];
  for (const c of candidates(text)) {
    if (!/^[[{]/.test(c)) continue;
    const parsed = parseJsonLoose(c);
    if (!parsed) {
      problems = ['the reply is not valid JSON'];
      continue;
    }
    const { value } = parsed;
    if (format.kind === 'json_object') {
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return { ok: true, json: JSON.stringify(value) };
      problems = ['the reply is not a JSON object'];
      continue;
    }
    const check = schemas.check(format.schema, value);
    if (check.ok) return { ok: true, json: JSON.stringify(value) };
    problems = check.errors.map((e) => e.replace(/^arguments/, 'value'));
  }
  return { ok: false, problems };
}
