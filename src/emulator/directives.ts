/**
 * `[[emu key=value key2="quoted value" flag]]` directives inside the user text. Several
 * directives merge left to right; quoted values support \n, \" and \\ escapes, and a value in
 * JSON-escaped quotes (key=\"…\", a prompt a client sent JSON-quoted) is read too. A directive
 * that does not close is ordinary text.
 */

export type Directives = Map<string, string | true>;

const OPEN = '[[emu';

function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';
}

function isKeyChar(ch: string | undefined): boolean {
  return ch !== undefined && /[A-Za-z0-9_-]/.test(ch);
}

/** Parses one directive body starting right after `[[emu`; returns the entries and the end index, or undefined. */
function parseOne(text: string, start: number): { entries: [string, string | true][]; end: number } | undefined {
  const entries: [string, string | true][] = [];
  let i = start;
  if (!isSpace(text[i]) && !text.startsWith(']]', i)) return undefined;
  for (;;) {
    while (isSpace(text[i])) i++;
    if (i >= text.length) return undefined;
    if (text.startsWith(']]', i)) return { entries, end: i + 2 };
    const keyStart = i;
    while (isKeyChar(text[i])) i++;
    if (i === keyStart) return undefined;
    const key = text.slice(keyStart, i).toLowerCase();
    if (text[i] !== '=') {
      entries.push([key, true]);
      continue;
    }
    i++;
    if (text.startsWith('\\"', i)) {
      // The prompt arrived JSON-quoted (opencode sends "\"…\""): undo that quoting while
      // reading the value, which ends at the first quote the directive itself did not escape.
      let value = '';
      let escaped = false;
      i += 2;
      for (;;) {
        if (i >= text.length) return undefined;
        let ch = text[i]!;
        if (ch === '\\') {
          const next = text[i + 1];
          if (next === undefined) return undefined;
          ch = next === 'n' ? '\n' : next === 't' ? '\t' : next;
          i += 2;
        } else i++;
        if (escaped) {
          value += ch === 'n' ? '\n' : ch;
          escaped = false;
        } else if (ch === '\\') escaped = true;
        else if (ch === '"') break;
        else value += ch;
      }
      entries.push([key, value]);
    } else if (text[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const ch = text[i];
        if (ch === undefined) return undefined;
        if (ch === '"') break;
        if (ch === '\\') {
          const next = text[i + 1];
          if (next === undefined) return undefined;
          value += next === 'n' ? '\n' : next;
          i += 2;
          continue;
        }
        value += ch;
        i++;
      }
      i++;
      entries.push([key, value]);
    } else {
      const valueStart = i;
      while (i < text.length && !isSpace(text[i]) && !text.startsWith(']]', i)) i++;
      entries.push([key, text.slice(valueStart, i)]);
    }
  }
}

export function parseDirectives(text: string): Directives {
  const out: Directives = new Map();
  let from = 0;
  for (;;) {
    const at = text.indexOf(OPEN, from);
    if (at < 0) return out;
    const parsed = parseOne(text, at + OPEN.length);
    if (!parsed) {
      from = at + OPEN.length;
      continue;
    }
    for (const [key, value] of parsed.entries) out.set(key, value);
    from = parsed.end;
  }
}

/** A non-negative integer directive, or the fallback when absent or malformed. */
export function intDirective(d: Directives, key: string, fallback: number): number {
  const v = d.get(key);
  if (typeof v !== 'string' || !/^\d+$/.test(v.trim())) return fallback;
  return Number(v.trim());
}

export function stringDirective(d: Directives, key: string): string | undefined {
  const v = d.get(key);
  return typeof v === 'string' ? v : undefined;
}

export function flagDirective(d: Directives, key: string): boolean {
  const v = d.get(key);
  return v === true || v === 'true' || v === '1';
}
