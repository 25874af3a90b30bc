import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../conversations/messages.js';
import { CLIENT_REQUESTS, FIRST, openWebUiTitle } from './__fixtures__/client-requests.js';
import { detectAuxiliary, EXCERPT_CHARS } from './detect.js';
import { AUXILIARY_SIGNATURES, parseSignatures } from './signatures.js';

const detect = (messages: ChatMessage[], hasTools = false) => detectAuxiliary(messages, AUXILIARY_SIGNATURES, hasTools);

describe('auxiliary signatures', () => {
  for (const [name, c] of Object.entries(CLIENT_REQUESTS)) {
    it(`recognises the ${name} call and keeps only the message it is about`, () => {
      const call = detect(c.messages);
      expect(call).toMatchObject({ task: c.task, jsonKey: c.json, excerpt: c.about });
    });
  }

  it('every built-in signature is exercised by a client request above', () => {
    const used = new Set(Object.values(CLIENT_REQUESTS).flatMap((c) => AUXILIARY_SIGNATURES.filter((s) => detectAuxiliary(c.messages, [s], false))));
    expect(AUXILIARY_SIGNATURES.filter((s) => !used.has(s)).map((s) => s.pattern.source)).toEqual([]);
  });

  it('ordinary turns that talk about titles, and requests offering tools, are not auxiliary', () => {
    expect(detect([{ role: 'user', content: 'Can you generate a concise, 3-5 word title for my essay about bread?' }])).toBeUndefined();
    expect(detect([{ role: 'user', content: 'Please summarize the conversation into a title' }])).toBeUndefined();
    expect(detect(CLIENT_REQUESTS['opencode title generator']!.messages, true)).toBeUndefined();
  });

  it('keeps the excerpt short however long the first message is', () => {
    const long = openWebUiTitle(20);
    long[0]!.content = long[0]!.content.replace(FIRST, 'x'.repeat(5_000));
    expect(Array.from(detect(long)!.excerpt).length).toBe(EXCERPT_CHARS + 1);
  });

  it('config adds signatures, with clear errors for bad entries', () => {
    const extra = parseSignatures('[{"task":"title","pattern":"^Name this chat"}]');
    expect(detectAuxiliary([{ role: 'user', content: 'hello' }, { role: 'user', content: 'name this chat please' }], extra, false)).toMatchObject({ task: 'title', client: 'config', excerpt: 'hello' });
    expect(() => parseSignatures('{"task":"title"}')).toThrow(/JSON list/);
    expect(() => parseSignatures('[{"task":"summary","pattern":"x"}]')).toThrow(/entry 0: task must be one of/);
    expect(() => parseSignatures('[{"task":"title","pattern":"("}]')).toThrow(/entry 0:/);
  });
});
