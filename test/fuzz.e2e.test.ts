/**
 * Malformed and adversarial input: requests thrown at the HTTP API, malformed upstream streams
 * thrown at the decoders, and 10,000 mixed requests to check that memory stays bounded.
 *
 * Invariants: every request gets a valid answer or a 4xx OpenAI error body, never a 5xx from
 * the proxy's own code, a crash or a hang; Object.prototype is never polluted; decoders only
 * yield ChatEvents or throw ProxyError, and always finish.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../src/core/chat-event.js';
import { ProxyError } from '../src/core/errors.js';
import { decodeConnectChat } from '../src/upstream/kimi/connect/decode.js';
import { FLAG_END_STREAM, encodeEnvelope } from '../src/upstream/kimi/connect/envelope.js';
import { decodeRestSse } from '../src/upstream/kimi/rest-sse/decode.js';
import { startHarness, type Harness } from './helpers/harness.js';
import { MB, sampleMemory } from './helpers/memory.js';
import { rawRequest } from './helpers/raw-http.js';

const REQUEST_TIMEOUT_MS = 10_000;
const enc = new TextEncoder();

interface FuzzRequest {
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
async function checkAnswer(res: Response, label: string): Promise<number> {
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

async function send(h: Harness, req: FuzzRequest): Promise<number> {
  const label = `${req.method} ${req.path} ${JSON.stringify(req.headers).slice(0, 200)} ${String(typeof req.body === 'string' ? req.body : Buffer.from(req.body ?? []).toString('latin1')).slice(0, 200)}`;
  const res = await fetch(h.base + req.path, {
    method: req.method,
    headers: req.headers,
    ...(req.body !== undefined ? { body: req.body } : {}),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return checkAnswer(res, label);
}

// ---------------------------------------------------------------------------------------
// Memory across 10,000 requests.

describe('memory across 10,000 requests', () => {
  // Runs first in this file, before the fuzz cases leave large garbage and heap fragments behind.
  it('stays bounded: heap and off-heap growth after GC each under 8 MB (800 B per request)', async () => {
    const h = await startHarness({
      env: { KIMI_PROTOCOL: 'connect', CONVERSATION_REUSE: 'off', ACCOUNT_MAX_CONCURRENT: '32', REQUEST_LOG_MAX_ENTRIES: '1000' },
      logLevel: 'silent',
    });
    const auth = { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' };
    const kinds: Array<(i: number) => FuzzRequest> = [
      (i) => ({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: JSON.stringify({ model: 'k2', messages: [{ role: 'user', content: `[[emu reply="ok ${i}"]]` }] }) }),
      (i) => ({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: JSON.stringify({ model: 'k2', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: `[[emu deltas=5]] ${i}` }] }) }),
      () => ({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: '{"model":"k2","messages":[' }),
      () => ({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: '{"model":"k2"}' }),
      (i) => ({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: JSON.stringify({ model: `missing-${i}`, messages: [{ role: 'user', content: 'x' }] }) }),
      (i) => ({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: JSON.stringify({ model: 'k2', messages: [{ role: `role-${i}`, content: 'x' }] }) }),
      () => ({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: JSON.stringify({ model: 'k2', n: 3, messages: [{ role: 'user', content: 'x' }] }) }),
      (i) => ({ method: 'POST', path: '/v1/chat/completions', headers: { ...auth, authorization: `Bearer wrong-${i}` }, body: '{}' }),
      (i) => ({ method: 'POST', path: `/v1/chat/completions/bad%ZZ${i}`, headers: auth, body: '{}' }),
      (i) => ({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: JSON.stringify({ model: 'k2', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `u${i}` } }] }] }) }),
      (i) => ({ method: 'GET', path: `/v1/models/none-${i}`, headers: auth }),
    ];
    // Valid requests (kinds 0 and 1) are about a third of the mix.
    const pick = (i: number): FuzzRequest => kinds[i % 3 === 0 ? (i % 2) : 2 + ((i * 7) % (kinds.length - 2))]!(i);
    // No per-request AbortSignal here: its timer would stay in this process's heap (the one being
    // measured) for its whole timeout. A watchdog fails the run when a request hangs instead.
    const fire = async (from: number, count: number): Promise<void> => {
      let next = from;
      const inflight = new Map<number, number>();
      const worker = async (): Promise<void> => {
        while (next < from + count) {
          const i = next++;
          const req = pick(i);
          inflight.set(i, Date.now());
          const res = await fetch(h.base + req.path, { method: req.method, headers: req.headers, ...(req.body ? { body: req.body } : {}) });
          const body = await res.text();
          inflight.delete(i);
          if (res.status >= 500 || (i % 3 === 0 && res.status !== 200)) throw new Error(`request ${i} → ${res.status} ${body.slice(0, 200)}`);
        }
      };
      let watchdog: NodeJS.Timeout | undefined;
      const hang = new Promise<never>((_, reject) => {
        watchdog = setInterval(() => {
          for (const [i, at] of inflight) if (Date.now() - at > REQUEST_TIMEOUT_MS) reject(new Error(`request ${i} hung`));
        }, 500);
      });
      try {
        await Promise.race([Promise.all(Array.from({ length: 32 }, worker)), hang]);
      } finally {
        clearInterval(watchdog);
      }
    };
    const settle = async (): Promise<ReturnType<typeof sampleMemory>> => {
      await h.app.services.janitor.idle();
      await new Promise((r) => setTimeout(r, 200));
      // The request log is kept by design (REQUEST_LOG_MAX_ENTRIES, pruned every minute): prune it now.
      await h.app.services.store.pruneRequestLog({ maxEntries: 1_000, olderThan: 0 });
      return sampleMemory();
    };
    try {
      await fire(0, 1_500); // warm-up: JIT, connection pools, caches
      const before = await settle();
      const started = Date.now();
      await fire(1_500, 10_000);
      const elapsed = Date.now() - started;
      const after = await settle();
      const growth = after.heapUsed - before.heapUsed;
      const offHeapGrowth = after.external - before.external;
      console.log(
        `10,000 requests in ${(elapsed / 1000).toFixed(1)} s; heap ${(before.heapUsed / MB).toFixed(1)} → ${(after.heapUsed / MB).toFixed(1)} MB (${(growth / MB).toFixed(2)} MB), ` +
          `off-heap ${(before.external / MB).toFixed(1)} → ${(after.external / MB).toFixed(1)} MB, ` +
          `heap reserved ${(before.heapTotal / MB).toFixed(1)} → ${(after.heapTotal / MB).toFixed(1)} MB, rss ${(before.rss / MB).toFixed(1)} → ${(after.rss / MB).toFixed(1)} MB; emulator live chats ${h.emulator.stats().liveChats}`,
      );
      // A leak of 10 KB per request would be about 100 MB after 10,000 requests: on the heap or
      // off it (Buffers, ArrayBuffers), it breaks one of these bounds. What legitimately remains:
      // JIT code, and per-call timers that expire within 15 s.
      expect(growth).toBeLessThan(8 * MB);
      expect(offHeapGrowth).toBeLessThan(8 * MB);
      // RSS is not bounded here: it is the allocators' high-water mark (V8's page pool, malloc
      // arenas of helper threads), not live data, and moves by hundreds of MB from run to run
      // with a flat heap. It is logged above.
      expect(h.emulator.stats().liveChats).toBe(0);
    } finally {
      await h.close();
    }
  }, 180_000);
});

// ---------------------------------------------------------------------------------------
// Arbitraries for requests.

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'then'] as const;
const protoKey = fc.constantFrom(...PROTO_KEYS);
const oddString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  protoKey,
  fc.constantFrom('', ' ', '\u0000', '\uFEFF', '\uD800', 'k2\n', 'NaN', '-1', '%ZZ', '../../etc/passwd', '${x}', '<script>', '\u202Eevil'),
);
const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(-1, 0, -0, 1, 2, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2));
const value: fc.Arbitrary<unknown> = fc.oneof(
  { depthSize: 'small', maxDepth: 3 },
  oddString,
  number,
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
);
const role = fc.oneof(fc.constantFrom('user', 'system', 'developer', 'assistant', 'tool', 'function'), oddString, value);
const part = fc.oneof(
  fc.record({ type: fc.constant('text'), text: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 50 }), value) }),
  fc.record(
    { type: fc.oneof(fc.constantFrom('image_url', 'input_audio', 'file', 'refusal', 'input_text', 'video'), oddString, value), text: value, image_url: value },
    { requiredKeys: [] },
  ),
  value,
);
const content = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.array(part, { maxLength: 4 }), value);
const message = fc.oneof(
  { weight: 4, arbitrary: fc.record({ role, content, name: value, reasoning_content: value, tool_call_id: value }, { requiredKeys: ['role'] }) },
  { weight: 1, arbitrary: value },
);
const chatBody = fc.record(
  {
    model: fc.oneof(fc.constantFrom('k2', 'k2-thinking', 'kimi-k2.6', 'k1.5', 'k2-nosearch', 'k'.repeat(5_000)), oddString, value),
    messages: fc.oneof({ weight: 5, arbitrary: fc.array(message, { maxLength: 5 }) }, { weight: 1, arbitrary: value }),
    stream: fc.oneof(fc.boolean(), value),
    stream_options: fc.oneof(fc.record({ include_usage: fc.oneof(fc.boolean(), value) }), value),
    n: fc.oneof(number, value),
    temperature: number,
    max_tokens: number,
    top_p: number,
    reasoning_effort: fc.oneof(fc.constantFrom('low', 'medium', 'high', 'none'), oddString, value),
    thinking: fc.oneof(fc.record({ type: fc.oneof(fc.constantFrom('enabled', 'disabled'), oddString) }), value),
    enable_thinking: value,
    web_search: value,
    enable_search: value,
    web_search_options: value,
    conversation_id: fc.oneof(oddString, fc.constantFrom('conv-1', 'a'.repeat(129)), value),
    tools: value,
    response_format: value,
    metadata: value,
  },
  { requiredKeys: [] },
);

/** A valid-looking JSON text, then mutated: proto keys, duplicates, non-JSON numbers, truncation, bad UTF-8, BOM. */
const mutation = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constant('proto' as const), key: protoKey, payload: value }),
  fc.record({ kind: fc.constant('duplicate' as const), key: fc.constantFrom('model', 'messages', 'stream', 'n'), payload: value }),
  fc.record({ kind: fc.constant('literal' as const), key: fc.constantFrom('n', 'temperature', 'max_tokens', 'stream'), literal: fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e999', '-1e999', '01', '.5', '+1', '0x10', 'undefined') }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('bytes' as const),
    at: fc.nat(),
    bytes: fc.oneof(
      fc.constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x00], [0xef, 0xbb, 0xbf]),
      fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }),
    ),
  }),
  fc.constant({ kind: 'bom' as const }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function bodyBytes(body: unknown, m: Mutation): Uint8Array {
  let text = JSON.stringify(body) ?? 'null';
  const isObject = text.startsWith('{');
  const insert = (pair: string): string => (isObject ? `{${pair}${text.length > 2 ? ',' : ''}${text.slice(1)}` : text);
  switch (m.kind) {
    case 'proto':
      text = insert(`${JSON.stringify(m.key)}:${JSON.stringify(m.payload ?? null)}`);
      break;
    case 'duplicate':
      text = insert(`${JSON.stringify(m.key)}:${JSON.stringify(m.payload ?? null)}`);
      break;
    case 'literal':
      text = insert(`${JSON.stringify(m.key)}:${m.literal}`);
      break;
    case 'truncate':
      text = text.slice(0, m.at % (text.length + 1));
      break;
    case 'bom':
      text = `\uFEFF${text}`;
      break;
    case 'bytes': {
      const b = enc.encode(text);
      const at = m.at % (b.length + 1);
      const out = new Uint8Array(b.length + m.bytes.length);
      out.set(b.subarray(0, at));
      out.set(m.bytes, at);
      out.set(b.subarray(at), at + m.bytes.length);
      return out;
    }
  }
  return enc.encode(text);
}

const visibleAscii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 });
const headersArb = fc.record(
  {
    'content-type': fc.oneof(
      fc.constantFrom('application/json', 'text/plain', 'application/json; charset=latin1', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', '*/*', 'application/json;;;'),
      visibleAscii,
    ),
    authorization: fc.oneof(
      { weight: 6, arbitrary: fc.constant('VALID') },
      { weight: 1, arbitrary: fc.constantFrom('Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'bearer VALID', 'Bearer VALID extra', 'Token VALID') },
      { weight: 1, arbitrary: visibleAscii },
    ),
    'x-request-id': visibleAscii,
    'x-conversation-id': fc.oneof(fc.constantFrom('conv-ok', 'a'.repeat(200), '../x', 'a b', '%00'), visibleAscii),
    'x-api-key': visibleAscii,
    accept: fc.oneof(fc.constantFrom('text/event-stream', 'application/json', '*/*', 'text/html'), visibleAscii),
    'content-encoding': fc.constantFrom('gzip', 'br', 'identity', 'x-unknown'),
    'accept-encoding': visibleAscii,
  },
  { requiredKeys: ['authorization'] },
);
const pathArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant('/v1/chat/completions') },
  { weight: 1, arbitrary: fc.constantFrom('/chat/completions', '/v1/chat/completions/', '//v1//chat//completions', '/v1/models', '/v1/models/k2', '/v1/nothing') },
  { weight: 1, arbitrary: fc.oneof(oddString, fc.constantFrom('%ZZ', '%E0%A4%A', '%00', '..', '%2F..%2F', 'a'.repeat(300))).map((s) => `/v1/chat/completions/${/^[\x21-\x7e]*$/.test(s) ? s : encodeURIComponent(s)}`) },
  { weight: 1, arbitrary: oddString.map((s) => `/conversations/${encodeURIComponent(s) || 'x'}/v1/chat/completions`) },
);

describe('fuzz: HTTP API', () => {
  let h: Harness;
  let prototypeKeys: Record<string, string[]>;
  const protoSnapshot = (): Record<string, string[]> => ({
    object: Object.getOwnPropertyNames(Object.prototype).sort(),
    array: Object.getOwnPropertyNames(Array.prototype).sort(),
    function: Object.getOwnPropertyNames(Function.prototype).sort(),
    string: Object.getOwnPropertyNames(String.prototype).sort(),
  });
  beforeAll(async () => {
    prototypeKeys = protoSnapshot();
    h = await startHarness({ env: { KIMI_PROTOCOL: 'connect', MAX_BODY_BYTES: String(8 * MB), QUEUE_WAIT_MS: '20000' }, logLevel: 'error' });
  });
  afterAll(async () => h.close());

  const build = (body: unknown, m: Mutation, headers: Record<string, string>, path: string): FuzzRequest => {
    const hs = { ...headers };
    if (hs.authorization === 'VALID') hs.authorization = `Bearer ${h.apiKey}`;
    else hs.authorization = hs.authorization!.replace('VALID', h.apiKey);
    return { method: path.includes('/models') ? 'GET' : 'POST', path, headers: hs, ...(path.includes('/models') ? {} : { body: bodyBytes(body, m) }) };
  };

  it('answers structured random chat requests with a completion or a 4xx OpenAI error', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(chatBody, mutation, headersArb, pathArb, async (body, m, headers, path) => {
        const status = await send(h, build(body, m, headers, path));
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }),
      { numRuns: 400, seed: 20_260_901 },
    );
    // The generators reach both sides: accepted requests and several kinds of rejection.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect([...statuses.keys()].filter((s) => s >= 400).length).toBeGreaterThanOrEqual(3);
  });

  it('answers mostly-valid requests (small mutations of a good body) the same way', async () => {
    const good = fc.record({
      model: fc.constantFrom('k2', 'kimi-k2.6'),
      messages: fc.array(fc.record({ role: fc.constantFrom('user', 'system', 'assistant', 'developer'), content: fc.string({ unit: 'grapheme', maxLength: 40 }) }), { minLength: 1, maxLength: 4 }),
      stream: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(good, mutation, async (body, m) => {
        const messages = [...body.messages, { role: 'user', content: 'last' }];
        await send(h, build({ ...body, messages }, m, { authorization: 'VALID', 'content-type': 'application/json' }, '/v1/chat/completions'));
      }),
      { numRuns: 150, seed: 7 },
    );
  });

  it('answers random bytes as a body with 400', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (bytes) => {
        const status = await send(h, { method: 'POST', path: '/v1/chat/completions', headers: { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' }, body: bytes });
        expect(status).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: 100, seed: 3 },
    );
  });

  const deep = (open: string, close: string, inner: string, n: number): string => open.repeat(n) + inner + close.repeat(n);
  const user = '[{"role":"user","content":"x"}]';
  // Bodies are built when their case runs, so that none of them sits in memory meanwhile.
  it.each<[string, () => string]>([
    ['10,000 nested arrays as the body', () => deep('[', ']', '', 10_000)],
    ['10,000 nested arrays as messages', () => `{"model":"k2","messages":${deep('[', ']', '', 10_000)}}`],
    ['10,000 nested arrays as content', () => `{"model":"k2","messages":[{"role":"user","content":${deep('[', ']', '', 10_000)}}]}`],
    ['10,000 nested arrays in an ignored field', () => `{"model":"k2","metadata":${deep('[', ']', '', 10_000)},"messages":${user}}`],
    ['10,000 nested objects in an ignored field', () => `{"model":"k2","tools":${deep('{"a":', '}', '1', 10_000)},"messages":${user}}`],
    ['10,000 nested objects as the model', () => `{"model":${deep('{"a":', '}', '1', 10_000)},"messages":${user}}`],
    ['200,000 nested arrays (beyond any parser stack)', () => deep('[', ']', '', 200_000)],
    ['a 3 MB model name', () => `{"model":"${'m'.repeat(3_000_000)}","messages":${user}}`],
    ['a 3 MB user message', () => `{"model":"k2","messages":[{"role":"user","content":"${'long text '.repeat(300_000)}"}]}`],
    ['10,001 messages', () => `{"model":"k2","messages":[${Array.from({ length: 10_001 }, () => '{"role":"user","content":"x"}').join(',')}]}`],
    ['5,000 messages', () => `{"model":"k2","messages":[${Array.from({ length: 5_000 }, (_, i) => `{"role":"${i % 2 ? 'assistant' : 'user'}","content":"m${i}"}`).join(',')},{"role":"user","content":"end"}]}`],
    ['a body over MAX_BODY_BYTES', () => `{"model":"k2","messages":[{"role":"user","content":"${'x'.repeat(9 * MB)}"}]}`],
    ['duplicate keys, the last one invalid', () => `{"model":"k2","model":7,"messages":${user}}`],
    ['duplicate keys, the last one valid', () => `{"model":7,"model":"k2","messages":${user}}`],
    ['__proto__ pollution at the top', () => `{"__proto__":{"polluted":"yes","stream":true,"n":5},"model":"k2","messages":${user}}`],
    ['__proto__ pollution in a message', () => `{"model":"k2","messages":[{"role":"user","content":"x","__proto__":{"polluted":"yes","role":"system"}}]}`],
    ['__proto__ pollution in content parts', () => `{"model":"k2","messages":[{"role":"user","content":[{"type":"text","text":"x","__proto__":{"polluted":"yes"}}]}]}`],
    ['constructor.prototype pollution', () => `{"constructor":{"prototype":{"polluted":"yes"}},"model":"k2","messages":${user},"stream_options":{"constructor":{"prototype":{"polluted":"yes"}}}}`],
    ['__proto__ as a role', () => `{"model":"k2","messages":[{"role":"__proto__","content":"x"},{"role":"user","content":"y"}]}`],
    ['constructor as a role', () => `{"model":"k2","messages":[{"role":"constructor","content":"x"},{"role":"user","content":"y"}]}`],
    ['toString as a model', () => `{"model":"toString","messages":${user}}`],
    ['NaN and Infinity literals', () => `{"model":"k2","temperature":NaN,"n":Infinity,"messages":${user}}`],
    ['1e999 (parses as Infinity)', () => `{"model":"k2","n":1e999,"max_tokens":-1e999,"messages":${user}}`],
    ['negative and fractional n', () => `{"model":"k2","n":-1.5,"messages":${user}}`],
    ['an empty body', () => ''],
    ['whitespace only', () => ' \n\t '],
    ['null', () => 'null'],
    ['a JSON string', () => '"hello"'],
    ['a lone surrogate escape in content', () => `{"model":"k2","messages":[{"role":"user","content":"\\ud800 and \\udfff"}]}`],
    ['NUL characters everywhere', () => `{"model":"k2\\u0000","messages":[{"role":"user\\u0000","content":"\\u0000"}]}`],
  ])('%s', async (_name, body) => {
    await send(h, { method: 'POST', path: '/v1/chat/completions', headers: { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' }, body: body() });
  });

  it.each([
    ['obs-text bytes in x-request-id and x-conversation-id', 'X-Request-Id: r\xe9q\xff\r\nX-Conversation-Id: c\xe9\r\n'],
    ['obs-text bytes in the API key', 'X-Api-Key: k\xe9y\xff\r\n'],
    ['a header of 8 KB', `X-Request-Id: ${'r'.repeat(8_000)}\r\n`],
    ['a repeated authorization header', 'Authorization: Bearer nope\r\n'],
    ['an empty content type', 'Content-Type: \r\n'],
    ['a comma-separated conversation id list', 'X-Conversation-Id: a, b\r\nX-Conversation-Id: c\r\n'],
  ])('odd raw header values: %s', async (_name, extra) => {
    const body = '{"model":"k2","messages":[{"role":"user","content":"x"}]}';
    const auth = extra.startsWith('X-Api-Key') ? '' : `Authorization: Bearer ${h.apiKey}\r\n`;
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}${extra}Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    const res = await rawRequest(h.base, Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body)]), REQUEST_TIMEOUT_MS);
    await checkAnswer(new Response(res.status === 204 ? null : res.body, { status: res.status, headers: res.headers }), extra);
  });

  it('still serves normal requests, logged no unhandled error, and left every prototype untouched', async () => {
    const res = await fetch(`${h.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'k2', messages: [{ role: 'user', content: '[[emu reply="still fine"]]' }] }),
    });
    expect(((await res.json()) as any).choices[0].message.content).toBe('still fine');
    expect(h.logs.filter((l) => l.includes('unhandled error'))).toEqual([]);
    expect(protoSnapshot()).toEqual(prototypeKeys);
    for (const probe of [{}, [], () => undefined, '']) expect((probe as any).polluted).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------
// Decoders: malformed upstream streams.

const EVENT_TYPES = new Set(['meta', 'text-delta', 'text-replace', 'reasoning-delta', 'search', 'citation', 'citation-ref', 'heartbeat', 'finish']);

async function* chunked(bytes: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const p of points) {
    if (p > from) yield bytes.slice(from, p);
    from = Math.max(from, p);
  }
  if (from < bytes.length) yield bytes.slice(from);
}

/** Runs a decoder to its end; fails on a foreign error type, a malformed event or a hang. */
async function decodeAll(events: AsyncIterable<ChatEvent>): Promise<{ events: ChatEvent[]; error?: ProxyError }> {
  const out: ChatEvent[] = [];
  const run = (async () => {
    try {
      for await (const ev of events) {
        expect(EVENT_TYPES.has(ev.type), JSON.stringify(ev)).toBe(true);
        out.push(ev);
      }
      return { events: out };
    } catch (err) {
      if (!(err instanceof ProxyError)) throw new Error(`decoder threw ${(err as Error)?.name}: ${(err as Error)?.message}`, { cause: err });
      expect(err.code.startsWith('upstream_')).toBe(true);
      return { events: out, error: err };
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('decoder hung')), 2_000);
  });
  try {
    return await Promise.race([run, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Nothing follows `finish`; a clean end always finished. */
function checkOrder(r: { events: ChatEvent[]; error?: ProxyError }): void {
  const finishAt = r.events.findIndex((e) => e.type === 'finish');
  if (finishAt >= 0) expect(finishAt).toBe(r.events.length - 1);
  if (!r.error) expect(finishAt).toBe(r.events.length - 1);
}

const cuts = fc.array(fc.nat(), { maxLength: 40 });
const text = fc.string({ unit: 'grapheme', maxLength: 20 });
const anyValue = fc.oneof(text, fc.jsonValue({ maxDepth: 3 }), fc.constant(null));

const restEvent = fc.oneof(
  fc.record({ event: fc.constantFrom('cmpl', 'k1'), text: fc.oneof(text, anyValue) }),
  fc.record(
    {
      event: fc.oneof(fc.constantFrom('req', 'resp', 'search_plus', 'ref_docs', 'length', 'all_done', 'error', 'status', 'chat_prompt', 'unknown', '__proto__'), anyValue),
      id: anyValue,
      msg: fc.oneof(fc.record({ type: fc.constantFrom('get_res', 'start_res'), url: anyValue, title: anyValue, queries: anyValue }), anyValue),
      ref_cards: anyValue,
      error_type: anyValue,
    },
    { requiredKeys: ['event'] },
  ),
  anyValue,
);
const sseRecord = fc.oneof(
  { weight: 6, arbitrary: restEvent.map((e) => `data: ${JSON.stringify(e)}\n\n`) },
  { weight: 1, arbitrary: fc.constantFrom(': comment\n\n', 'event: cmpl\n\n', 'retry: abc\n\n', 'id: 1\n', 'data: {"event":\n\n', 'data:\n\n', '\r\n', 'data: [DONE]\n\n') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
);

describe('fuzz: REST SSE decoder', () => {
  it('random bytes in random splits: events or ProxyError, never a hang', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 1_500 }), cuts, async (bytes, c) => {
        checkOrder(await decodeAll(decodeRestSse(chunked(bytes, c))));
      }),
      { numRuns: 400, seed: 11 },
    );
  });

  it('random SSE records (good, odd and bad JSON, CRLF), random splits, optional truncation', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(sseRecord, { maxLength: 25 }), fc.boolean(), fc.boolean(), fc.nat(), cuts, async (records, crlf, truncate, at, c) => {
        let body = records.join('');
        if (crlf) body = body.replace(/\n/g, '\r\n');
        let bytes = enc.encode(body);
        if (truncate) bytes = bytes.slice(0, at % (bytes.length + 1));
        checkOrder(await decodeAll(decodeRestSse(chunked(bytes, c), { maxEventBytes: 4_096 })));
      }),
      { numRuns: 400, seed: 12 },
    );
  });

  it('a valid stream split anywhere (inside UTF-8 characters too) decodes to exactly its text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }), { maxLength: 20 }), cuts, async (deltas, c) => {
        const body = [{ event: 'req', id: 'r1' }, { event: 'resp' }, ...deltas.map((t) => ({ event: 'cmpl', text: t })), { event: 'all_done' }]
          .map((e) => `data: ${JSON.stringify(e)}\n\n`)
          .join('');
        const r = await decodeAll(decodeRestSse(chunked(enc.encode(body), c)));
        expect(r.error).toBeUndefined();
        expect(r.events.filter((e) => e.type === 'text-delta').map((e) => (e as { text: string }).text).join('')).toBe(deltas.join(''));
        expect(r.events.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
      }),
      { numRuns: 300, seed: 13 },
    );
  });
});

const MASKS = [
  'block.text',
  'block.text.content',
  'block.think',
  'block.think.content',
  'message',
  'block.search.keywords',
  'block.search.webPages',
  'block.search',
  'block.tool',
  'block.tool.args',
  'block.tool.contents',
  'message.refs.searchChunks',
  'message.refs',
  'block.exception',
  'chat',
  'chat.lastRequest',
  'chat.name',
  'message.status',
  'block.stage',
  'unknown.mask',
];
const connectEvent = fc.oneof(
  fc.record(
    {
      op: fc.oneof(fc.constantFrom('set', 'append'), anyValue),
      mask: fc.oneof(fc.constantFrom(...MASKS), anyValue),
      eventOffset: anyValue,
      block: fc.oneof(
        fc.record(
          {
            id: fc.oneof(fc.constantFrom('b1', 'b2'), anyValue),
            messageId: anyValue,
            text: fc.oneof(fc.record({ content: fc.oneof(text, anyValue), flags: anyValue }, { requiredKeys: [] }), anyValue),
            think: fc.oneof(fc.record({ content: fc.oneof(text, anyValue) }), anyValue),
            tool: fc.oneof(fc.record({ args: fc.oneof(text, fc.constant('{"queries":["q"]}'), anyValue), contents: anyValue }, { requiredKeys: [] }), anyValue),
            search: anyValue,
            exception: anyValue,
          },
          { requiredKeys: [] },
        ),
        anyValue,
      ),
      message: fc.oneof(fc.record({ id: anyValue, role: fc.oneof(fc.constantFrom('user', 'assistant'), anyValue), refs: anyValue }, { requiredKeys: [] }), anyValue),
      chat: fc.oneof(fc.record({ id: anyValue }), anyValue),
    },
    { requiredKeys: [] },
  ),
  fc.constantFrom({ heartbeat: {} }, { done: {} }, { error: { code: 'resource_exhausted', message: 'x' } }, { error: 'weird' }, { exception: { reason: 'X' } }, {}),
  anyValue,
);
/** One envelope: usually well-formed, sometimes with a random flag byte or a lying length. */
const envelope = fc.oneof(
  { weight: 8, arbitrary: connectEvent.map((e) => encodeEnvelope(0, enc.encode(JSON.stringify(e) ?? 'null'))) },
  { weight: 1, arbitrary: fc.constantFrom(encodeEnvelope(FLAG_END_STREAM, enc.encode('{}')), encodeEnvelope(FLAG_END_STREAM, enc.encode('{"error":{"code":"internal"}}')), encodeEnvelope(FLAG_END_STREAM, new Uint8Array())) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.oneof(fc.nat(64), fc.constantFrom(0xffffffff, 0x7fffffff, 4 * 1024 * 1024 + 1, 1_000_000)), fc.uint8Array({ maxLength: 64 })).map(([flags, length, payload]) => {
      const out = new Uint8Array(5 + payload.length);
      out[0] = flags;
      new DataView(out.buffer).setUint32(1, length);
      out.set(payload, 5);
      return out;
    }),
  },
);
const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

describe('fuzz: Connect decoder', () => {
  it('random bytes in random splits: events or ProxyError, never a hang', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 1_500 }), cuts, async (bytes, c) => {
        checkOrder(await decodeAll(decodeConnectChat(chunked(bytes, c))));
      }),
      { numRuns: 400, seed: 21 },
    );
  });

  it('random envelopes (odd events, bogus flags and lengths), random splits, optional truncation', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(envelope, { maxLength: 20 }), fc.boolean(), fc.nat(), cuts, async (frames, truncate, at, c) => {
        let bytes = concat(frames);
        if (truncate) bytes = bytes.slice(0, at % (bytes.length + 1));
        checkOrder(await decodeAll(decodeConnectChat(chunked(bytes, c), { maxPayloadBytes: 64 * 1024 })));
      }),
      { numRuns: 500, seed: 22 },
    );
  });

  it('a valid stream split anywhere decodes to exactly its text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }), { maxLength: 20 }), cuts, async (deltas, c) => {
        const frames = [
          { op: 'set', mask: 'chat', chat: { id: 'c1' } },
          { op: 'set', mask: 'message', message: { id: 'm1', role: 'user' } },
          { op: 'set', mask: 'message', message: { id: 'm2', role: 'assistant' } },
          { heartbeat: {} },
          ...deltas.map((t) => ({ op: 'append', mask: 'block.text.content', block: { id: 'b1', messageId: 'm2', text: { content: t } } })),
          { done: {} },
        ].map((e) => encodeEnvelope(0, enc.encode(JSON.stringify(e))));
        frames.push(encodeEnvelope(FLAG_END_STREAM, enc.encode('{}')));
        const r = await decodeAll(decodeConnectChat(chunked(concat(frames), c)));
        expect(r.error).toBeUndefined();
        expect(r.events.filter((e) => e.type === 'text-delta').map((e) => (e as { text: string }).text).join('')).toBe(deltas.join(''));
        expect(r.events.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
      }),
      { numRuns: 300, seed: 23 },
    );
  });
});
