/**
 * What every answer of the API must look like under fuzzing: a valid answer or a 4xx
 * OpenAI error body, never a 5xx from the proxy's own code, and a request id.
 */
import { expect } from 'vitest';
import type { Harness } from './harness.js';

export const REQUEST_TIMEOUT_MS = 10_000;

export interface FuzzRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array | string;
}

function parseJson(text: string, why: string): any {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`not JSON: ${why}`);
  }
}

/** Checks one answer against the invariants; returns the status. */
export async function checkAnswer(res: Response, label: string): Promise<number> {
  const text = await res.text();
  const why = `${label} → ${res.status} ${text.slice(0, 300)}`;
  expect(res.status, why).toBeLessThan(500);
  expect(res.headers.get('x-request-id'), why).toBeTruthy();
  if (res.status >= 400) {
    const body = parseJson(text, why);
    expect(Object.keys(body), why).toEqual(['error']);
    const e = body.error;
    expect(typeof e.message, why).toBe('string');
    expect(typeof e.type, why).toBe('string');
    expect('param' in e && (e.param === null || typeof e.param === 'string'), why).toBe(true);
    expect('code' in e && (e.code === null || typeof e.code === 'string'), why).toBe(true);
    return res.status;
  }
  expect(res.status, why).toBe(200);
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    expect(text.endsWith('data: [DONE]\n\n'), why).toBe(true);
    for (const rec of text.split('\n\n')) {
      if (!rec.startsWith('data: ') || rec === 'data: [DONE]') continue;
      const chunk = parseJson(rec.slice(6), why);
      // An error inside a stream is legitimate only when it comes from upstream, never our own failure.
      if (chunk.error) expect(chunk.error.code, why).not.toBe('internal_error');
    }
  } else {
    const body = parseJson(text, why);
    expect(['chat.completion', 'list', 'model'], why).toContain(body.object);
  }
  return res.status;
}

export async function send(h: Harness, req: FuzzRequest): Promise<number> {
  const label = `${req.method} ${req.path} ${JSON.stringify(req.headers).slice(0, 200)} ${String(typeof req.body === 'string' ? req.body : Buffer.from(req.body ?? []).toString('latin1')).slice(0, 200)}`;
  const res = await fetch(h.base + req.path, {
    method: req.method,
    headers: req.headers,
    ...(req.body !== undefined ? { body: req.body } : {}),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return checkAnswer(res, label);
}
