/** Conversations that are never lost: persistence, reuse of resent histories, branching, scoping, management. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator } from '../src/emulator/index.js';
import { FakeClock } from '../src/store/fake-clock.js';
import { postJson, harnessPerTest, startHarness, waitFor, type Harness } from './helpers/harness.js';

const user = (content: string) => ({ role: 'user', content });
const assistant = (content: string) => ({ role: 'assistant', content });
const reply = (r: { json: any }): string => r.json.choices[0].message.content;
const chatOf = (text: string): string => /chat=(\S+)/.exec(text)![1]!;

function upstreamBodies(h: Harness): any[] {
  return h.emulator
    .stats()
    .recentRequests.filter((r) => /completion\/stream|ChatService\/Chat$/.test(r.path))
    .map((r) => r.body);
}
const sentText = (body: any): string => body?.messages?.[0]?.content ?? body?.message?.blocks?.[0]?.text?.content;

describe.each(['rest', 'connect'] as const)('conversations over %s', (protocol) => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  const harness = async (env: Record<string, string> = {}, extra: Parameters<typeof startHarness>[0] = {}): Promise<Harness> => {
    const h = await startHarness({ env: { KIMI_PROTOCOL: protocol, ...env }, ...extra });
    cleanups.push(() => h.close());
    return h;
  };

  it('survives a restart: the same DATA_DIR continues the same upstream chat', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kp-restart-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const emulator = await startEmulator();
    cleanups.push(() => emulator.close());
    const env = { STORE_URL: '', DATA_DIR: dir };
    const first = await startHarness({ env: { KIMI_PROTOCOL: protocol, ...env }, sharedEmulator: emulator });
    const t1 = await postJson(first, { model: 'k2', messages: [user('[[emu turn]]')] }, '/v1/chat/completions/persist-1');
    await first.close();
    const second = await startHarness({ env: { KIMI_PROTOCOL: protocol, ...env }, sharedEmulator: emulator });
    cleanups.push(() => second.close());
    const t2 = await postJson(second, { model: 'k2', messages: [user('[[emu turn]]')] }, '/v1/chat/completions/persist-1');
    expect(reply(t2)).toBe(`turn=2 chat=${chatOf(reply(t1))}`);
  });

  it('continues the upstream chat when a stateless client resends the history it got from us', async () => {
    const h = await harness();
    const t1 = await postJson(h, { model: 'k2', messages: [user('hi [[emu turn]]')] });
    const a1 = reply(t1);
    const t2 = await postJson(h, { model: 'k2', messages: [user('hi [[emu turn]]'), assistant(a1), user('more [[emu turn]]')] });
    expect(reply(t2)).toBe(`turn=2 chat=${chatOf(a1)}`);
    expect(sentText(upstreamBodies(h).at(-1))).toBe('more [[emu turn]]');
    const t3 = await postJson(h, {
      model: 'k2',
      messages: [user('hi [[emu turn]]'), assistant(a1), user('more [[emu turn]]'), assistant(reply(t2)), user('again [[emu turn]]')],
    });
    expect(reply(t3)).toBe(`turn=3 chat=${chatOf(a1)}`);
  });

  it('does not reuse when CONVERSATION_REUSE=off, and folds the history into a new chat instead', async () => {
    const h = await harness({ CONVERSATION_REUSE: 'off' });
    const a1 = reply(await postJson(h, { model: 'k2', messages: [user('hi [[emu turn]]')] }));
    const t2 = await postJson(h, { model: 'k2', messages: [user('hi [[emu turn]]'), assistant(a1), user('more [[emu turn]]')] });
    expect(chatOf(reply(t2))).not.toBe(chatOf(a1));
  });

  it('deletes implicitly kept chats after the idle TTL, not before', async () => {
    const clock = new FakeClock(Date.now());
    const h = await harness({ IMPLICIT_CONVERSATION_TTL_MS: '60000' }, { clock });
    await postJson(h, { model: 'k2', messages: [user('idle')] });
    clock.advance(59_000);
    h.app.services.janitor.kick();
    await h.app.services.janitor.idle();
    expect(h.emulator.stats().chatsDeleted).toBe(0);
    clock.advance(1_001);
    h.app.services.janitor.kick();
    await waitFor(() => h.emulator.stats().chatsDeleted === 1, 3_000, 'idle chat deletion');
  });

  it('takes the conversation id from the path, the x-conversation-id header, the body, or a conversation base URL', async () => {
    const h = await harness();
    const ways: Array<[string, Record<string, unknown>, Record<string, string>]> = [
      ['/v1/chat/completions/by-path', {}, {}],
      ['/v1/chat/completions', {}, { 'x-conversation-id': 'by-header' }],
      ['/v1/chat/completions', { conversation_id: 'by-body' }, {}],
      ['/conversations/by-base-url/v1/chat/completions', {}, {}],
    ];
    for (const [path, extra, headers] of ways) {
      const t1 = await postJson(h, { model: 'k2', messages: [user('[[emu turn]]')], ...extra }, path, headers);
      const t2 = await postJson(h, { model: 'k2', messages: [user('[[emu turn]]')], ...extra }, path, headers);
      expect(reply(t2), path).toBe(`turn=2 chat=${chatOf(reply(t1))}`);
      expect(t2.headers.get('x-conversation-id')).toBeTruthy();
    }
    const models = await fetch(`${h.base}/conversations/by-base-url/v1/models`, { headers: { authorization: `Bearer ${h.apiKey}` } });
    expect(models.status).toBe(200);
  });

  it('scopes conversation ids to the API key that created them', async () => {
    const h = await harness({ API_KEYS: 'sk-test-0123456789abcdef,sk-other-key-000000000' });
    const mine = await postJson(h, { model: 'k2', messages: [user('[[emu turn]]')] }, '/v1/chat/completions/shared-name');
    const theirs = await postJson(h, { model: 'k2', messages: [user('[[emu turn]]')] }, '/v1/chat/completions/shared-name', {
      authorization: 'Bearer sk-other-key-000000000',
    });
    expect(reply(theirs)).toMatch(/^turn=1 /);
    expect(chatOf(reply(theirs))).not.toBe(chatOf(reply(mine)));
    const peek = await fetch(`${h.base}/v1/conversations/shared-name`, { headers: { authorization: 'Bearer sk-other-key-000000000' } });
    expect(((await peek.json()) as any).messages).toHaveLength(2);
  });

  it('lists, shows and deletes conversations (deleting also deletes the upstream chat)', async () => {
    const h = await harness({ CONVERSATION_REUSE: 'off' });
    await postJson(h, { model: 'k2', messages: [user('[[emu reply="one"]]')] }, '/v1/chat/completions/manage-me');
    const auth = { authorization: `Bearer ${h.apiKey}` };
    const list = (await (await fetch(`${h.base}/v1/conversations`, { headers: auth })).json()) as any;
    expect(list.data.map((c: any) => c.id)).toContain('manage-me');
    const show = (await (await fetch(`${h.base}/v1/conversations/manage-me`, { headers: auth })).json()) as any;
    expect(show.messages.at(-1)).toEqual({ role: 'assistant', content: 'one' });
    const before = h.emulator.stats().chatsDeleted;
    const del = await fetch(`${h.base}/v1/conversations/manage-me`, { method: 'DELETE', headers: auth });
    expect(((await del.json()) as any).deleted).toBe(true);
    await h.app.services.janitor.idle();
    await waitFor(() => h.emulator.stats().chatsDeleted > before, 3_000, 'upstream deletion');
    expect((await fetch(`${h.base}/v1/conversations/manage-me`, { headers: auth })).status).toBe(404);
  });
});

describe('branching on edited history (connect)', () => {
  const start = harnessPerTest();

  it('an edited turn branches from the assistant message before it, not from the latest leaf', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: 'connect' } });
    const path = '/v1/chat/completions/branchy';
    const a1 = reply(await postJson(h, { model: 'k2', messages: [user('q1')] }, path));
    const a2 = reply(await postJson(h, { model: 'k2', messages: [user('q1'), assistant(a1), user('q2')] }, path));
    expect(a2).toBeTruthy();
    const edited = await postJson(h, { model: 'k2', messages: [user('q1'), assistant(a1), user('q2 edited [[emu history]]')] }, path);
    expect(reply(edited)).toBe('q1');
    const body = upstreamBodies(h).at(-1);
    expect(sentText(body)).toBe('q2 edited [[emu history]]');
    // Continuing after the edit follows the new branch.
    const next = await postJson(
      h,
      { model: 'k2', messages: [user('q1'), assistant(a1), user('q2 edited [[emu history]]'), assistant(reply(edited)), user('q3 [[emu history]]')] },
      path,
    );
    expect(reply(next)).toBe('q1 | q2 edited [[emu history]]');
  });
});

describe('length continuation (rest)', () => {
  const start = harnessPerTest();

  it('continues a reply cut by the length limit transparently', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: 'rest' } });
    const r = await postJson(h, { model: 'k2', messages: [user('[[emu deltas=6 fault=length]]')] });
    expect(reply(r)).toBe('w1 w2 w3 w4 w5 w6');
    expect(r.json.choices[0].finish_reason).toBe('stop');
    const last = upstreamBodies(h).at(-1);
    expect(last.action).toBe('continue');
    expect(typeof last.segment_id).toBe('string');
  });
});
