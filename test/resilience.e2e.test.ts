/** Failover, conversation locking, keep-alives, length, temporary-chat policy. */
import { describe, expect, it } from 'vitest';
import { postJson, postStream, harnessPerTest, streamText, waitFor } from './helpers/harness.js';

const user = (content: string) => ({ role: 'user', content });

describe.each(['rest', 'connect'] as const)('resilience over %s', (protocol) => {
  const start = harnessPerTest();

  it('moves a request to the next account when the first fails before any output', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: protocol } });
    h.emulator.control.setTokenFault('tok-alpha', '500');
    for (let i = 0; i < 3; i++) {
      const r = await postJson(h, { model: 'k2', messages: [user(`[[emu reply="fine ${i}"]]`)] });
      expect(r.status).toBe(200);
      expect(r.json.choices[0].message.content).toBe(`fine ${i}`);
    }
    expect(h.emulator.stats().requestsByAccount['tok-beta']).toBeGreaterThanOrEqual(3);
  });

  it('answers 429 with Retry-After when every account is rate-limited', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: protocol } });
    h.emulator.control.setTokenFault('tok-alpha', '429', { retryAfter: 30 });
    h.emulator.control.setTokenFault('tok-beta', '429', { retryAfter: 30 });
    const r = await postJson(h, { model: 'k2', messages: [user('x')] });
    expect(r.status).toBe(429);
    expect(r.json.error.type).toBe('rate_limit_error');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(r.headers.get('retry-after-ms'))).toBeGreaterThan(0);
  });

  it('never streams two requests into one conversation at once: the second waits, or gets 409', async () => {
    let h = await start({ env: { KIMI_PROTOCOL: protocol, CONVERSATION_WAIT_MS: '0' } });
    const path = '/v1/chat/completions/busy-conv';
    const slow = postJson(h, { model: 'k2', messages: [user('[[emu deltas=10 delay=60]]')] }, path);
    await waitFor(() => h.emulator.stats().openStreams > 0, 2_000, 'first stream to open');
    const second = await postJson(h, { model: 'k2', messages: [user('second')] }, path);
    expect(second.status).toBe(409);
    expect(second.json.error.code).toBe('conversation_busy');
    expect((await slow).status).toBe(200);
    await h.close();

    h = await start({ env: { KIMI_PROTOCOL: protocol, CONVERSATION_WAIT_MS: '5000' } });
    const a = postJson(h, { model: 'k2', messages: [user('[[emu deltas=5 delay=40 turn]]')] }, path);
    await waitFor(() => h.emulator.stats().openStreams > 0, 2_000, 'first stream to open');
    const b = await postJson(h, { model: 'k2', messages: [user('[[emu turn]]')] }, path);
    expect(b.status).toBe(200);
    expect(b.json.choices[0].message.content).toMatch(/^turn=2 /);
    expect((await a).status).toBe(200);
    expect(h.emulator.stats().maxOpenStreams).toBe(1);
  });

  it('sends SSE comment keep-alives during a long upstream silence', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: protocol, KEEPALIVE_INTERVAL_MS: '100' } });
    const s = await postStream(h, { model: 'k2', messages: [user('[[emu stall=700 reply="late"]]')] });
    expect(s.raw).toContain(': ping\n\n');
    expect(streamText(s.events)).toBe('late');
  });

  it('keeps the temporary upstream chat when DELETE_TEMP_CHATS=false', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: protocol, DELETE_TEMP_CHATS: 'false' } });
    await postJson(h, { model: 'k2', messages: [user('keep me')] });
    await h.app.services.janitor.idle();
    expect(h.emulator.stats().chatsDeleted).toBe(0);
    expect(h.emulator.stats().liveChats).toBeGreaterThan(0);
  });
});

describe('REST length signal', () => {
  const start = harnessPerTest();

  it('ends with finish_reason "length" when the upstream reports it', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: 'rest', LENGTH_CONTINUATIONS: '0' } });
    const r = await postJson(h, { model: 'k2', messages: [user('[[emu deltas=6 fault=length]]')] });
    expect(r.json.choices[0].finish_reason).toBe('length');
    expect(r.json.choices[0].message.content).toBe('w1 w2 w3 ');
  });
});
