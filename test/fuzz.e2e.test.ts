/**
 * Malformed and adversarial requests thrown at the HTTP API (the decoders' fuzzing is in
 * fuzz-decoders.test.ts, the memory bound in memory.e2e.test.ts).
 *
 * Invariants: every request gets a valid answer or a 4xx OpenAI error body, never a 5xx from
 * the proxy's own code, a crash or a hang; Object.prototype is never polluted.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAnswer, REQUEST_TIMEOUT_MS, send, type FuzzRequest } from './helpers/fuzz-answers.js';
import { startHarness, type Harness } from './helpers/harness.js';
import { MB } from './helpers/memory.js';
import { rawRequest } from './helpers/raw-http.js';

const enc = new TextEncoder();

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
