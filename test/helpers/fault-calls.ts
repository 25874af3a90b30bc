/** Calls for the fault tests: one chat request and everything the client saw of it. */
import type { Harness } from './harness.js';

/** An access JWT of the shape Kimi issues: used as is, so no refresh call precedes the chat call. */
export function accessJwt(): string {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ typ: 'access', app_id: 'kimi', sub: 'user-faults', iat: now, exp: now + 3600 })}.c2ln`;
}

export interface Outcome {
  status: number;
  headers: Headers;
  /** Parsed JSON body (non-SSE answers). */
  json?: any;
  /** `data:` payloads of an SSE answer, `[DONE]` kept as the string. */
  events?: unknown[];
  /** Number of `: ping` keep-alive comments in an SSE answer. */
  pings: number;
}

export async function call(h: Harness, content: string, stream: boolean): Promise<Outcome> {
  const res = await fetch(`${h.base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${h.apiKey}` },
    body: JSON.stringify({ model: 'k2', stream, messages: [{ role: 'user', content }] }),
    signal: AbortSignal.timeout(15_000),
  });
  const raw = await res.text();
  const pings = raw.split('\n\n').filter((r) => r.startsWith(':')).length;
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const events = raw
      .split('\n\n')
      .filter((r) => r.startsWith('data: '))
      .map((r) => r.slice(6))
      .map((d) => (d === '[DONE]' ? d : (JSON.parse(d) as unknown)));
    return { status: res.status, headers: res.headers, events, pings };
  }
  return { status: res.status, headers: res.headers, json: JSON.parse(raw), pings };
}
