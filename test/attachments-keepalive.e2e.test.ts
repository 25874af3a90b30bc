/**
 * A document Kimi takes long to parse does not hold the response head: a streaming request
 * opens its stream and gets keep-alives in its door's own form while the parse runs, and a
 * parse that fails after that arrives in the stream in the door's dialect, naming the file.
 * Non-streaming requests keep waiting and answer the failure with its status.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startHarness, type Harness } from './helpers/harness.js';
import { dataUrl, pdf, seen } from './helpers/files.js';

const FILES = '[[emu files]]';

interface Door {
  name: string;
  path: string;
  headers: Record<string, string>;
  body: (name: string, doc: Buffer) => Record<string, unknown>;
  /** Whether a frame is the door's keep-alive. */
  isPing: (frame: string) => boolean;
  /** The answer's text as the door streams it. */
  text: (frames: string[]) => string;
  /** The in-stream failure: its code or type, and its message. */
  failure: (frames: string[]) => { code: string; message: string } | undefined;
}

const data = (frame: string): any => {
  const line = frame.split('\n').find((l) => l.startsWith('data: '));
  try {
    return line ? JSON.parse(line.slice(6)) : undefined;
  } catch {
    return undefined;
  }
};

const DOORS: Door[] = [
  {
    name: 'OpenAI chat',
    path: '/v1/chat/completions',
    headers: {},
    body: (name, doc) => ({ model: 'k2', stream: true, messages: [{ role: 'user', content: [{ type: 'text', text: FILES }, { type: 'file', file: { file_data: dataUrl('application/pdf', doc), filename: name } }] }] }),
    isPing: (f) => f === ': ping',
    text: (frames) => frames.map((f) => data(f)?.choices?.[0]?.delta?.content ?? '').join(''),
    failure: (frames) => frames.map(data).find((d) => d?.error)?.error,
  },
  {
    name: 'Anthropic messages',
    path: '/v1/messages',
    headers: { 'anthropic-version': '2023-06-01' },
    body: (name, doc) => ({
      model: 'k2',
      max_tokens: 2000,
      stream: true,
      messages: [{ role: 'user', content: [{ type: 'document', title: name, source: { type: 'base64', media_type: 'application/pdf', data: doc.toString('base64') } }, { type: 'text', text: FILES }] }],
    }),
    isPing: (f) => f.startsWith('event: ping'),
    text: (frames) => frames.map((f) => (f.startsWith('event: content_block_delta') ? (data(f)?.delta?.text ?? '') : '')).join(''),
    failure: (frames) => {
      const e = frames.find((f) => f.startsWith('event: error'));
      return e ? { code: data(e).error.type, message: data(e).error.message } : undefined;
    },
  },
  {
    name: 'Responses',
    path: '/v1/responses',
    headers: {},
    body: (name, doc) => ({ model: 'k2', stream: true, input: [{ role: 'user', content: [{ type: 'input_text', text: FILES }, { type: 'input_file', file_data: dataUrl('application/pdf', doc), filename: name }] }] }),
    isPing: (f) => f === ': ping',
    text: (frames) => frames.map((f) => (f.startsWith('event: response.output_text.delta') ? (data(f)?.delta ?? '') : '')).join(''),
    failure: (frames) => {
      const failed = frames.find((f) => f.startsWith('event: response.failed'));
      return failed ? data(failed).response.error : undefined;
    },
  },
];

describe('keep-alives while a document parses', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: { KIMI_PROTOCOL: 'connect', KIMI_TOKENS: 'tok-parse', CONVERSATION_REUSE: 'off', KEEPALIVE_INTERVAL_MS: '100', ATTACHMENT_DOCUMENT_PARSE_MS: '3000' },
    });
  });
  afterAll(async () => h.close());

  const stream = async (door: Door, name: string, doc: Buffer) => {
    const res = await fetch(h.base + door.path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.apiKey}`, ...door.headers },
      body: JSON.stringify(door.body(name, doc)),
    });
    return { status: res.status, frames: (await res.text()).split('\n\n').filter((f) => f.trim() !== '') };
  };

  it.each(DOORS)('$name: a slow parse opens the stream with keep-alives, then the answer sees the file', async (door) => {
    const doc = pdf(`slow ${door.name}`);
    const name = `emu-slow-${door.path.split('/').pop()}.pdf`;
    const { status, frames } = await stream(door, name, doc);
    expect(status).toBe(200);
    const firstText = frames.findIndex((f) => door.text([f]) !== '');
    expect(firstText).toBeGreaterThan(0);
    // The parse takes over a second; keep-alives every 100 ms came before any of the answer.
    expect(frames.slice(0, firstText).filter(door.isPing).length).toBeGreaterThanOrEqual(2);
    expect(door.text(frames)).toBe(`Files: ${seen(name, 'application/pdf', doc)}.`);
  });

  it.each(DOORS)('$name: a parse that never ends fails inside the opened stream, naming the file', async (door) => {
    const name = `emu-stall-${door.path.split('/').pop()}.pdf`;
    const { status, frames } = await stream(door, name, pdf(`stall ${door.name}`));
    expect(status).toBe(200);
    expect(frames.some(door.isPing)).toBe(true);
    const failure = door.failure(frames);
    expect(failure?.message).toMatch(new RegExp(`"${name.replace(/\./g, '\\.')}".*still parsing`));
    if (door.name !== 'Anthropic messages') expect(failure?.code).toBe('attachment_failed');
  });

  it('a non-streaming request keeps waiting and answers a failed parse with 422', async () => {
    const res = await postJson(h, {
      model: 'k2',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'read' }, { type: 'file', file: { file_data: dataUrl('application/pdf', pdf('stall plain')), filename: 'emu-stall-plain.pdf' } }] }],
    });
    expect(res.status).toBe(422);
    expect(res.json.error).toMatchObject({ code: 'attachment_failed', message: expect.stringContaining('"emu-stall-plain.pdf"') });
  });
});
