/**
 * `/v1/files` stores an upload as it streams in: a file of several pieces comes back byte for
 * byte and reaches Kimi as a `file_id` part on both protocols, and one over FILES_MAX_BYTES is
 * refused in OpenAI's error shape with nothing listed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startHarness, type Harness } from './helpers/harness.js';
import { seen } from './helpers/files.js';
import { PIECE_BYTES } from '../src/attachments/client-files.js';

for (const protocol of ['rest', 'connect'] as const) {
  describe(`/v1/files upload (${protocol})`, () => {
    const cap = 3 * PIECE_BYTES;
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ env: { KIMI_PROTOCOL: protocol, KIMI_TOKENS: `tok-upload-${protocol}`, CONVERSATION_REUSE: 'off', FILES_MAX_BYTES: String(cap) } });
    });
    afterAll(async () => h.close());

    const auth = () => ({ authorization: `Bearer ${h.apiKey}` });
    const post = (bytes: Buffer, name: string) => {
      const form = new FormData();
      form.append('purpose', 'user_data');
      form.append('file', new Blob([bytes]), name);
      return fetch(`${h.base}/v1/files`, { method: 'POST', headers: auth(), body: form });
    };
    const listed = async (): Promise<number> => ((await (await fetch(`${h.base}/v1/files`, { headers: auth() })).json()) as { data: unknown[] }).data.length;

    it('a file of several pieces is stored, read back byte for byte, and reaches Kimi as a file_id part', async () => {
      const text = Buffer.alloc(Math.floor(2.5 * PIECE_BYTES), `${protocol},row\n`);
      const res = await post(text, 'rows.csv');
      expect(res.status).toBe(200);
      const file = (await res.json()) as { id: string; bytes: number; filename: string };
      expect(file).toMatchObject({ bytes: text.byteLength, filename: 'rows.csv' });
      const content = await fetch(`${h.base}/v1/files/${file.id}/content`, { headers: auth() });
      expect(content.headers.get('content-type')).toContain('text/csv');
      expect(Buffer.from(await content.arrayBuffer()).equals(text)).toBe(true);

      const turn = await postJson(h, { model: 'k2', messages: [{ role: 'user', content: [{ type: 'text', text: '[[emu files]]' }, { type: 'file', file: { file_id: file.id } }] }] });
      expect(turn.status).toBe(200);
      expect(turn.json.choices[0].message.content).toBe(`Files: ${seen('rows.csv', 'text/csv', text)}.`);
    });

    it('one byte over the cap is 413 in OpenAI’s error shape, and nothing is listed', async () => {
      const before = await listed();
      const res = await post(Buffer.alloc(cap + 1, 'a'), 'big.txt');
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ error: { code: 'attachment_too_large', param: 'file', type: expect.any(String), message: expect.stringContaining(String(cap)) } });
      expect(await listed()).toBe(before);
    });
  });
}
