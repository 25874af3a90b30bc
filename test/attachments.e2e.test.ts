/**
 * What the proxy does with attachments beyond reading each client's parts (those are proven
 * per client library in test/conformance): several files in one message, uploads once,
 * retries, parse failures, refusals, /v1/files and conversations that move between accounts.
 * The emulator answers with each attached file's name, type, size and SHA-256, so these tests
 * prove the bytes Kimi received are the bytes the client sent.
 */
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startHarness, TEST_KEY, type Harness } from './helpers/harness.js';
import { dataUrl, fileServer, FILES_DIRECTIVE as FILES, pdf, png, seen, sha256 } from './helpers/files.js';
import { keyId } from '../src/auth/api-keys.js';

const keyOwner = (h: Harness): string => keyId(h.apiKey);

const photo = png(41);

for (const protocol of ['connect', 'rest'] as const) {
  describe(`attachments over ${protocol}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({
        env: {
          KIMI_PROTOCOL: protocol,
          KIMI_TOKENS: 'tok-files',
          CONVERSATION_REUSE: 'off',
          ATTACHMENT_IMAGE_PARSE_MS: '1500',
          ATTACHMENT_DOCUMENT_PARSE_MS: '1500',
        },
      });
    });
    afterAll(async () => h.close());

    // What each client library sends (data URLs, http URLs, file_data, file_id) is proven in test/conformance.
    const uploads = (): number => h.emulator.stats().filesUploaded;

    it('several files in one message, in order, and kimi-free-api file_url data URLs', async () => {
      const a = png(21);
      const b = png(22);
      const notes = Buffer.from('# Notes\nline two\n');
      const res = await postJson(h, {
        model: 'k2',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: FILES },
              { type: 'image_url', image_url: { url: dataUrl('image/png', a) } },
              { type: 'image_url', image_url: dataUrl('image/png', b) },
              { type: 'file', file_url: { url: dataUrl('text/markdown', notes) } },
            ],
          },
        ],
      });
      expect(res.status).toBe(200);
      expect(res.json.choices[0].message.content).toBe(`Files: ${seen('image-1.png', 'image/png', a)}; ${seen('image-2.png', 'image/png', b)}; ${seen('file-3.md', 'text/markdown', notes)}.`);
    });

    it('the same screenshot resent over five turns is uploaded once', async () => {
      const shot = png(protocol === 'rest' ? 31 : 32);
      const before = uploads();
      const history: any[] = [];
      for (let turn = 0; turn < 5; turn++) {
        history.push({ role: 'user', content: [{ type: 'text', text: `step ${turn} ${FILES}` }, { type: 'image_url', image_url: { url: dataUrl('image/png', shot) } }] });
        const res = await postJson(h, { model: 'k2', messages: history });
        expect(res.status).toBe(200);
        expect(res.json.choices[0].message.content).toContain(seen('image-1.png', 'image/png', shot));
        history.push({ role: 'assistant', content: res.json.choices[0].message.content });
      }
      expect(uploads() - before).toBe(1);
    });

    it('an upload answered with HTTP 500 once is retried and succeeds', async () => {
      const doc = Buffer.from(`retry me ${protocol}\n`);
      const res = await postJson(h, {
        model: 'k2',
        messages: [{ role: 'user', content: [{ type: 'text', text: FILES }, { type: 'file', file: { file_data: dataUrl('text/plain', doc), filename: `emu-500-${protocol}.txt` } }] }],
      });
      expect(res.status).toBe(200);
      expect(res.json.choices[0].message.content).toBe(`Files: ${seen(`emu-500-${protocol}.txt`, 'text/plain', doc)}.`);
    });

    it('a parse that fails, and one that never finishes, answer 422 attachment_failed naming the file', async () => {
      const failing = await postJson(h, {
        model: 'k2',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'read' }, { type: 'file', file: { file_data: dataUrl('application/pdf', pdf('bad')), filename: 'emu-fail.pdf' } }] }],
      });
      expect(failing.status).toBe(422);
      expect(failing.json.error).toMatchObject({ code: 'attachment_failed', message: expect.stringContaining('"emu-fail.pdf"') });
      const stalled = await postJson(h, {
        model: 'k2',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'read' }, { type: 'file', file: { file_data: dataUrl('application/pdf', pdf('slow')), filename: 'emu-stall.pdf' } }] }],
      });
      expect(stalled.status).toBe(422);
      expect(stalled.json.error).toMatchObject({ code: 'attachment_failed', message: expect.stringMatching(/"emu-stall\.pdf".*still parsing/) });
    });
  });
}

describe('attachment refusals (OpenAI chat door)', () => {
  let h: Harness;
  let internal: Awaited<ReturnType<typeof fileServer>>;
  beforeAll(async () => {
    internal = await fileServer('127.0.0.1', { '/secret.png': ['image/png', photo] });
    h = await startHarness({ env: { KIMI_PROTOCOL: 'connect', ATTACHMENT_IMAGE_MAX_BYTES: '2048' } });
  });
  afterAll(async () => {
    await h.close();
    await internal.close();
  });

  const send = (content: unknown[]) => postJson(h, { model: 'k2', messages: [{ role: 'user', content }] });

  it('URLs pointing at internal addresses are refused before any request reaches them', async () => {
    const port = new URL(internal.url).port;
    for (const url of [`http://127.0.0.1:${port}/secret.png`, `http://localhost:${port}/secret.png`, `http://2130706433:${port}/secret.png`, 'http://169.254.169.254/latest/meta-data/']) {
      const res = await send([{ type: 'image_url', image_url: { url } }]);
      expect(res.status, url).toBe(400);
      expect(res.json.error).toMatchObject({ code: 'attachment_url_refused', param: 'messages[0].content[0]' });
    }
    const ftp = await send([{ type: 'file', file_url: { url: 'ftp://example.com/a.pdf' } }]);
    expect(ftp.json.error).toMatchObject({ code: 'attachment_url_refused', param: 'messages[0].content[0].file_url.url' });
    expect(internal.hits).toEqual([]);
  });


  it('audio and video parts get a 400 that names the part', async () => {
    const audio = await send([{ type: 'text', text: 'hi' }, { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }]);
    expect(audio.status).toBe(400);
    expect(audio.json.error).toMatchObject({ code: 'unsupported_content', param: 'messages[0].content[1].type', message: expect.stringContaining('input_audio') });
    const video = await send([{ type: 'video_url', video_url: { url: 'https://example.com/v.mp4' } }]);
    expect(video.status).toBe(400);
    expect(video.json.error.param).toBe('messages[0].content[0].type');
  });

  it('an image over its cap is 413 before decoding, a non-image in an image part 415, bad base64 400', async () => {
    const big = await send([{ type: 'image_url', image_url: { url: dataUrl('image/png', Buffer.alloc(4096, 1)) } }]);
    expect(big.status).toBe(413);
    expect(big.json.error).toMatchObject({ code: 'attachment_too_large', param: 'messages[0].content[0]' });
    const wrong = await send([{ type: 'image_url', image_url: { url: dataUrl('image/png', pdf()) } }]);
    expect(wrong.status).toBe(415);
    expect(wrong.json.error).toMatchObject({ code: 'unsupported_media_type', param: 'messages[0].content[0]' });
    const exe = await send([{ type: 'file', file: { file_data: dataUrl('application/octet-stream', Buffer.from([0x4d, 0x5a, 0x90, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0xff, 0xff, 0, 0])), filename: 'a.pdf' } }]);
    expect(exe.status).toBe(415);
    const garbage = await send([{ type: 'image_url', image_url: { url: 'data:image/png;base64,@@@@' } }]);
    expect(garbage.status).toBe(400);
    expect(h.emulator.stats().filesUploaded).toBe(0);
  });
});

describe('attachment refusals through the Anthropic door', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { KIMI_PROTOCOL: 'connect', KIMI_TOKENS: 'tok-doors', CONVERSATION_REUSE: 'off' } });
  });
  afterAll(async () => h.close());

  it('an Anthropic image over an internal URL is refused in Anthropic’s error shape', async () => {
    const res = await fetch(`${h.base}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': h.apiKey, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'k2', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'http://169.254.169.254/x.png' } }] }] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('messages[0].content[0]') } });
  });
});

describe('/v1/files and file_id parts', () => {
  const OTHER_KEY = 'sk-other-fedcba9876543210';
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { KIMI_PROTOCOL: 'rest', KIMI_TOKENS: 'tok-ids', API_KEYS: `${TEST_KEY},${OTHER_KEY}`, CONVERSATION_REUSE: 'off', FILES_MAX_BYTES: '4096' } });
  });
  afterAll(async () => h.close());

  it('openai-node files.create → a file_id part reaches Kimi; list, retrieve, content, delete; scoped to the key', async () => {
    const sdk = new OpenAI({ baseURL: `${h.base}/v1`, apiKey: h.apiKey, maxRetries: 0 });
    const other = new OpenAI({ baseURL: `${h.base}/v1`, apiKey: OTHER_KEY, maxRetries: 0 });
    const doc = pdf('uploaded first');
    const created = await sdk.files.create({ file: await toFile(doc, 'contract.pdf', { type: 'application/pdf' }), purpose: 'user_data' });
    expect(created).toMatchObject({ object: 'file', bytes: doc.byteLength, filename: 'contract.pdf', purpose: 'user_data', status: 'processed' });

    const completion = await sdk.chat.completions.create({
      model: 'k2',
      messages: [{ role: 'user', content: [{ type: 'text', text: FILES }, { type: 'file', file: { file_id: created.id } }] }],
    });
    expect(completion.choices[0]!.message.content).toBe(`Files: ${seen('contract.pdf', 'application/pdf', doc)}.`);

    expect((await sdk.files.list()).data.map((f) => f.id)).toEqual([created.id]);
    expect((await sdk.files.retrieve(created.id)).filename).toBe('contract.pdf');
    expect(Buffer.from(await (await sdk.files.content(created.id)).arrayBuffer())).toEqual(doc);

    // Another key sees nothing of it, and cannot attach it.
    expect((await other.files.list()).data).toEqual([]);
    await expect(other.files.retrieve(created.id)).rejects.toMatchObject({ status: 404 });
    const stolen = await postJson(h, { model: 'k2', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: created.id } }] }] }, '/v1/chat/completions', {
      authorization: `Bearer ${OTHER_KEY}`,
    });
    expect(stolen.status).toBe(400);
    expect(stolen.json.error.param).toBe('messages[0].content[0]');

    expect(await sdk.files.delete(created.id)).toMatchObject({ id: created.id, deleted: true });
    await expect(sdk.files.retrieve(created.id)).rejects.toMatchObject({ status: 404 });
  });

  it('refuses uploads over FILES_MAX_BYTES (413) and of types Kimi cannot read (415)', async () => {
    const sdk = new OpenAI({ baseURL: `${h.base}/v1`, apiKey: h.apiKey, maxRetries: 0 });
    await expect(sdk.files.create({ file: await toFile(Buffer.alloc(8192, 0x41), 'big.txt'), purpose: 'user_data' })).rejects.toMatchObject({ status: 413 });
    await expect(sdk.files.create({ file: await toFile(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3e, 0]), 'tool.pdf'), purpose: 'user_data' })).rejects.toMatchObject({
      status: 415,
    });
  });
});

describe('a conversation remembers its attachments', () => {
  it.each(['connect', 'rest'] as const)('continued: only new files go up; migrated to another account: earlier files are uploaded there (%s)', async (protocol) => {
    const h = await startHarness({ env: { KIMI_PROTOCOL: protocol, KIMI_TOKENS: `tok-m1-${protocol},tok-m2-${protocol}` } });
    try {
      const path = '/v1/chat/completions/with-files';
      const image = png(protocol === 'rest' ? 71 : 72);
      const t1 = await postJson(h, { model: 'k2', messages: [{ role: 'user', content: [{ type: 'text', text: `one ${FILES}` }, { type: 'image_url', image_url: { url: dataUrl('image/png', image) } }] }] }, path);
      expect(t1.json.choices[0].message.content).toBe(`Files: ${seen('image-1.png', 'image/png', image)}.`);
      const t2 = await postJson(h, { model: 'k2', messages: [{ role: 'user', content: `two ${FILES}` }] }, path);
      expect(t2.json.choices[0].message.content).toBe('Files: none.');
      const uploadsBefore = h.emulator.stats().filesUploaded;

      const record = await h.app.services.store.getConversation(keyOwner(h), 'with-files');
      expect(record?.transcript[0]?.attachments).toEqual([{ name: 'image-1.png', mime: 'image/png', kind: 'image', sha256: sha256(image), size: image.byteLength }]);
      h.emulator.control.invalidateToken(h.app.services.pool.get(record!.accountId)!.token);

      const t3 = await postJson(h, { model: 'k2', messages: [{ role: 'user', content: `three ${FILES}` }] }, path);
      expect(t3.status).toBe(200);
      expect(t3.json.choices[0].message.content).toBe(`Files: ${seen('image-1.png', 'image/png', image)}.`);
      expect(h.emulator.stats().filesUploaded - uploadsBefore).toBe(1);
      expect((await h.app.services.store.getConversation(keyOwner(h), 'with-files'))?.accountId).not.toBe(record!.accountId);
    } finally {
      await h.close();
    }
  });
});
