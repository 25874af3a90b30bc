/**
 * Implicit reuse (a stateless client resending its history) recognises attachments by their
 * bytes: chat UIs name every pasted image "image.png", so the name cannot tell two pictures
 * apart, and the same picture renamed is still the same history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startHarness, type Harness } from './helpers/harness.js';
import { dataUrl, png, seen } from './helpers/files.js';

const FILES = '[[emu files]]';

describe('implicit reuse matches attachments by content', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { KIMI_PROTOCOL: 'connect', KIMI_TOKENS: 'tok-reuse', CONVERSATION_REUSE: 'auto' } });
  });
  afterAll(async () => h.close());

  const pasted = (name: string, bytes: Buffer) => ({
    role: 'user',
    content: [
      { type: 'text', text: `what is this? ${FILES}` },
      { type: 'file', file: { file_data: dataUrl('image/png', bytes), filename: name } },
    ],
  });
  const chats = (): number => h.emulator.stats().chatsCreated;

  it('another picture named image.png starts a new chat; the same bytes renamed continue the old one', async () => {
    const first = png(81);
    const other = png(82);
    const t1 = await postJson(h, { model: 'k2', messages: [pasted('image.png', first)] });
    expect(t1.status).toBe(200);
    const answer = t1.json.choices[0].message.content as string;
    expect(answer).toBe(`Files: ${seen('image.png', 'image/png', first)}.`);
    const next = { role: 'user', content: `and now? ${FILES}` };

    const before = chats();
    const swapped = await postJson(h, { model: 'k2', messages: [pasted('image.png', other), { role: 'assistant', content: answer }, next] });
    expect(swapped.status).toBe(200);
    // A new chat, seeded with the history as this client sent it: Kimi sees the other picture.
    expect(chats() - before).toBe(1);
    expect(swapped.json.choices[0].message.content).toBe(`Files: ${seen('image.png', 'image/png', other)}.`);

    const again = chats();
    const renamed = await postJson(h, { model: 'k2', messages: [pasted('cat.png', first), { role: 'assistant', content: answer }, next] });
    expect(renamed.status).toBe(200);
    // The first chat goes on: no new chat, and no file to send again (the chat holds it).
    expect(chats() - again).toBe(0);
    expect(renamed.json.choices[0].message.content).toBe('Files: none.');
  });
});
