/**
 * Narrowing helpers for Kimi's wire JSON, shared by both decoders. Wire shapes are checked by
 * hand (typeof tests) rather than by a schema library: the decoders run them once per
 * streamed event, and a field Kimi leaves out or changes must be skipped, not rejected.
 */

/** A parsed JSON object of unknown shape. */
export type WireObject = Record<string, unknown>;

export function isObject(v: unknown): v is WireObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `v` when it is a JSON object, else undefined. */
export function obj(v: unknown): WireObject | undefined {
  return isObject(v) ? v : undefined;
}

/** `v` when it is a non-empty string, else undefined (Kimi sends `""` for "absent"). */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A string or an array of strings as a list of its non-empty strings. */
export function stringList(v: unknown): string[] {
  if (typeof v === 'string') return v === '' ? [] : [v];
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const item of v) if (typeof item === 'string' && item !== '') out.push(item);
  return out;
}

/**
 * Reports each unknown event name (REST `event`, Connect `mask`) once per stream: Kimi adds
 * event kinds without notice, and one log line per kind says so without flooding the log.
 * Without a `report` callback nothing is tracked.
 */
export class UnknownNames {
  private seen: Set<string> | undefined;

  constructor(private readonly report: ((name: string) => void) | undefined) {}

  add(name: string): void {
    if (!this.report) return;
    this.seen ??= new Set();
    if (this.seen.has(name)) return;
    this.seen.add(name);
    this.report(name);
  }
}
