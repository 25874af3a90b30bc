/**
 * Large images as data URLs, which the body reader takes out of the body before it is parsed
 * (attachments/body-data-urls.ts), through each front door: Kimi receives the client's bytes
 * exactly (the emulator answers with their size and SHA-256), the same image re-sent is not
 * uploaded again, and a stored response shows its input back with the data URL as sent.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startHarness, type Harness } from './helpers/harness.js';
import { dataUrl, FILES_DIRECTIVE as FILES, png, seen } from './helpers/files.js';

/** A PNG of about `size` bytes: a real image followed by random bytes (as incompressible as a photo). */
const bigPng = (seed: number, size = 400_000): Buffer => Buffer.concat([png(seed), randomBytes(size)]);

describe('large data URLs through every door', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { KIMI_PROTOCOL: 'connect', KIMI_TOKENS: 'tok-large', CONVERSATION_REUSE: 'off' } });
  });
  afterAll(async () => h.close());

  const uploads = (): number => h.emulator.stats().filesUploaded;
  const answerOf = (json: unknown): string => JSON.stringify(json);

  it('OpenAI chat: the bytes reach Kimi exactly, and the same image re-sent is not uploaded again', async () => {
    const image = bigPng(51);
    const request = {
      model: 'k2',
      messages: [{ role: 'user', content: [{ type: 'text', text: `見て ${FILES} ✓` }, { type: 'image_url', image_url: { url: dataUrl('image/png', image), detail: 'high' } }] }],
    };
    const before = uploads();
    const first = await postJson(h, request);
    expect(first.status).toBe(200);
    expect(first.json.choices[0].message.content).toBe(`Files: ${seen('image-1.png', 'image/png', image)}.`);
    expect(uploads() - before).toBe(1);
    const again = await postJson(h, request);
    expect(again.json.choices[0].message.content).toBe(`Files: ${seen('image-1.png', 'image/png', image)}.`);
    expect(uploads() - before).toBe(1);
  });

  it('two different large images in one message are two files, in order', async () => {
    const a = bigPng(52);
    const b = bigPng(53);
    const res = await postJson(h, {
      model: 'k2',
      messages: [{ role: 'user', content: [{ type: 'text', text: FILES }, { type: 'image_url', image_url: dataUrl('image/png', a) }, { type: 'file', file: { file_data: dataUrl('image/png', b), filename: 'b.png' } }] }],
    });
    expect(res.json.choices[0].message.content).toBe(`Files: ${seen('image-1.png', 'image/png', a)}; ${seen('b.png', 'image/png', b)}.`);
  });

  it('Anthropic Messages: an image block whose url source is a data URL', async () => {
    const image = bigPng(54);
    const res = await postJson(
      h,
      {
        model: 'k2',
        max_tokens: 100,
        messages: [{ role: 'user', content: [{ type: 'text', text: FILES }, { type: 'image', source: { type: 'url', url: dataUrl('image/png', image) } }] }],
      },
      '/v1/messages',
    );
    expect(res.status).toBe(200);
    expect(res.json.content[0].text).toBe(`Files: ${seen('image-1.png', 'image/png', image)}.`);
  });

  it('Responses: input_image and input_file reach Kimi exactly, and the stored input items hold the data URLs as sent', async () => {
    const image = bigPng(55);
    const doc = bigPng(56);
    const input = [
      {
        role: 'user',
        content: [
          { type: 'input_text', text: FILES },
          { type: 'input_image', image_url: dataUrl('image/png', image) },
          { type: 'input_file', file_data: dataUrl('image/png', doc), filename: 'scan.png' },
        ],
      },
    ];
    const res = await postJson(h, { model: 'k2', input }, '/v1/responses');
    expect(res.status).toBe(200);
    expect(answerOf(res.json.output)).toContain(`Files: ${seen('image-1.png', 'image/png', image)}; ${seen('scan.png', 'image/png', doc)}.`);
    const items = await fetch(`${h.base}/v1/responses/${res.json.id}/input_items`, { headers: { authorization: `Bearer ${h.apiKey}` } });
    const listed = (await items.json()) as { data: Array<{ content: unknown[] }> };
    expect(listed.data[0]!.content).toEqual(input[0]!.content);
  });

  it('Responses: a continuation of a stored response with images re-attaches them to the new Kimi chat, with the same bytes', async () => {
    const large = bigPng(57);
    const small = png(58);
    const first = await postJson(
      h,
      { model: 'k2', input: [{ role: 'user', content: [{ type: 'input_text', text: 'Keep these.' }, { type: 'input_image', image_url: dataUrl('image/png', large) }, { type: 'input_image', image_url: dataUrl('image/png', small) }] }] },
      '/v1/responses',
    );
    expect(first.status).toBe(200);
    // CONVERSATION_REUSE is off: the continuation is a new Kimi chat seeded with the stored step, its files included.
    const next = await postJson(h, { model: 'k2', previous_response_id: first.json.id, input: FILES }, '/v1/responses');
    expect(next.status).toBe(200);
    expect(answerOf(next.json.output)).toContain(`Files: ${seen('image-1.png', 'image/png', large)}; ${seen('image-2.png', 'image/png', small)}.`);
  });

  it('a data URL that is not clean base64 gets the usual answer: whitespace is decoded, a stray character refused', async () => {
    const image = bigPng(57);
    const b64 = image.toString('base64');
    const wrapped = `data:image/png;base64,${b64.replace(/(.{76})/g, '$1\n')}`;
    const ok = await postJson(h, { model: 'k2', messages: [{ role: 'user', content: [{ type: 'text', text: FILES }, { type: 'image_url', image_url: { url: wrapped } }] }] });
    expect(ok.json.choices[0].message.content).toBe(`Files: ${seen('image-1.png', 'image/png', image)}.`);
    const broken = `data:image/png;base64,${b64.slice(0, 1000)}*${b64.slice(1001)}`;
    const refused = await postJson(h, { model: 'k2', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: broken } }] }] });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatchObject({ code: 'invalid_request', param: 'messages[0].content[0]', message: expect.stringContaining('not valid base64') });
  });

  it('a data URL in a message’s text stays text', async () => {
    const text = dataUrl('image/png', bigPng(58));
    const res = await postJson(h, { model: 'k2', messages: [{ role: 'user', content: [{ type: 'text', text }] }] });
    expect(res.status).toBe(200);
    // The emulator counts the characters it received: the whole data URL, not a placeholder.
    const chars = Number(/has (\d+) characters/.exec(res.json.choices[0].message.content)?.[1]);
    expect(chars).toBeGreaterThanOrEqual(text.length);
  });
});
