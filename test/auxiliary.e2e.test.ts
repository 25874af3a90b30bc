/** Clients' background calls end to end: an Open WebUI title request with a long history is answered cheaply. */
import { describe, expect, it } from 'vitest';
import { FIRST, openWebUiTitle } from '../src/auxiliary/__fixtures__/client-requests.js';
import { CHAT_PATH } from './helpers/account-calls.js';
import { postJson, harnessPerTest, waitFor, type Harness } from './helpers/harness.js';

/** The chat calls the emulator received, as the JSON it was sent. */
const chatBodies = (h: Harness): string[] => h.emulator.stats().recentRequests.filter((r) => CHAT_PATH.test(r.path)).map((r) => JSON.stringify(r.body));

async function metric(h: Harness, line: RegExp): Promise<string | undefined> {
  const text = await (await fetch(`${h.base}/metrics`)).text();
  return text.split('\n').find((l) => line.test(l));
}

describe('auxiliary calls end to end', () => {
  const start = harnessPerTest({ emulator: { maxEventsLogged: 200 } });

  it.each(['connect', 'rest'] as const)(
    'an Open WebUI title request with a 20-turn history sends under 1 KB upstream, keeps no chat and is logged apart (%s)',
    async (protocol) => {
      const h = await start({ env: { KIMI_PROTOCOL: protocol, KIMI_TOKENS: 'tok-one' } });
      const messages = openWebUiTitle(20);
      expect(JSON.stringify(messages).length).toBeGreaterThan(10_000);
      const r = await postJson(h, { model: 'k2', stream: false, messages });
      expect(r.status).toBe(200);
      const title = JSON.parse(r.json.choices[0].message.content) as { title: string };
      expect(typeof title.title).toBe('string');
      const bodies = chatBodies(h);
      expect(bodies).toHaveLength(1);
      expect(Buffer.byteLength(bodies[0]!)).toBeLessThan(1024);
      expect(bodies[0]).toContain('sourdough');
      // The temporary chat is deleted at once; nothing is kept as a conversation.
      await waitFor(() => h.emulator.stats().liveChats === 0, 3_000, 'the temporary chat to be deleted');
      expect(h.emulator.stats()).toMatchObject({ chatsCreated: 1, chatsDeleted: 1 });
      expect(await h.app.services.store.listConversations({ limit: 10 })).toEqual([]);
      await h.app.services.requestLog.flush();
      const [entry] = await h.app.services.store.listRequestLog({ limit: 1 });
      expect(entry).toMatchObject({ status: 200, auxiliary: 'title' });
      expect(await metric(h, /^kimi_proxy_auxiliary_requests_total\{task="title",answered_by="kimi"\} 1$/)).toBeDefined();
    },
  );

  it('with AUXILIARY_LOCAL_TITLES a title is made from the first words without calling Kimi; ordinary turns are untouched', async () => {
    const h = await start({ env: { AUXILIARY_LOCAL_TITLES: 'true' } });
    const r = await postJson(h, { model: 'k2', messages: openWebUiTitle(20) });
    expect(JSON.parse(r.json.choices[0].message.content)).toEqual({ title: FIRST.split(' ').slice(0, 6).join(' ') });
    expect(chatBodies(h)).toHaveLength(0);
    expect(await metric(h, /^kimi_proxy_auxiliary_requests_total\{task="title",answered_by="local"\} 1$/)).toBeDefined();
    // An ordinary question goes to Kimi as always and is kept for reuse (an implicit conversation).
    const normal = await postJson(h, { model: 'k2', messages: [{ role: 'user', content: '[[emu reply="hi there"]] hello' }] });
    expect(normal.json.choices[0].message.content).toBe('hi there');
    expect(chatBodies(h)).toHaveLength(1);
    expect(await h.app.services.store.listConversations({ limit: 10 })).toHaveLength(1);
  });

  it('AUXILIARY_DETECTION=false sends the background call as an ordinary turn', async () => {
    const h = await start({ env: { AUXILIARY_DETECTION: 'false', KIMI_TOKENS: 'tok-one' } });
    await postJson(h, { model: 'k2', messages: openWebUiTitle(20) });
    expect(Buffer.byteLength(chatBodies(h)[0]!)).toBeGreaterThan(10_000);
  });
});
