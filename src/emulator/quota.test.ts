import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorFromUpstreamResponse } from '../upstream/kimi/upstream-errors.js';
import { connectError, exceptionError } from '../upstream/kimi/connect/stream-errors.js';
import { chatRequest, connectChat, createRestChat, decodeFrames, json, restCompletion, send, unary } from './__fixtures__/wire.js';
import { startEmulator, type Emulator } from './index.js';
import { QuotaBook } from './quota.js';

let emu: Emulator;
beforeEach(async () => {
  emu = await startEmulator({ heartbeatIntervalMs: 0 });
});
afterEach(async () => {
  await emu.close();
});

const TOKEN = 'quota-token';
const STATS = 'kimi.gateway.membership.v2.MembershipService/GetSubscriptionStats';

describe('emulator usage limits', () => {
  it('counts replies per account and reports them on research/usage and GetSubscriptionStats', async () => {
    emu.control.setQuota(TOKEN, { limit: 4, resetSec: 3600 });
    const chat = await createRestChat(emu.url, TOKEN);
    expect((await restCompletion(emu.url, TOKEN, chat, 'one')).status).toBe(200);
    expect(json(await send(`${emu.url}/api/chat/research/usage`, { method: 'GET', token: TOKEN }))).toEqual({ used: 1, total: 4, remain: 3 });
    const stats = json(await unary(emu.url, TOKEN, STATS)) as { subscriptionBalance: { amountUsedRatio: number } };
    expect(stats.subscriptionBalance.amountUsedRatio).toBe(0.25);
    // Another account is not counted.
    expect(json(await send(`${emu.url}/api/chat/research/usage`, { method: 'GET', token: 'other' }))).toEqual({ remain: 20, total: 20, used: 0 });
  });

  it('REST: HTTP 429 with Retry-After and an error_type the proxy reads as quota_exhausted', async () => {
    emu.control.setQuota(TOKEN, { limit: 1, resetSec: 600 });
    const chat = await createRestChat(emu.url, TOKEN);
    expect((await restCompletion(emu.url, TOKEN, chat, 'one')).status).toBe(200);
    const res = await restCompletion(emu.url, TOKEN, chat, 'two');
    expect(res.status).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(590);
    const err = errorFromUpstreamResponse(res.status, res.headers, res.body.toString('utf8'), 'rest');
    expect(err).toMatchObject({ code: 'quota_exhausted', upstreamCode: 'chat.usage_limit_exceeded' });
    expect(err.retryAfterMs).toBeGreaterThan(590_000);
  });

  it('Connect: an in-stream error frame (HTTP 200), and no chat is created', async () => {
    emu.control.setQuota(TOKEN, { limit: 0, resetSec: 600 });
    const res = await connectChat(emu.url, TOKEN, chatRequest('hi'));
    expect(res.status).toBe(200);
    const error = decodeFrames(res.body).frames.map((f) => f.json).find((j) => j.error)?.error;
    expect(connectError(error, 'stream')).toMatchObject({ code: 'quota_exhausted', upstreamCode: 'resource_exhausted:REASON_USAGE_LIMIT_EXCEEDED' });
    expect(emu.stats().chatsCreated).toBe(0);
  });

  it('Connect: the exception shape and the HTTP shape', async () => {
    emu.control.setQuota(TOKEN, { limit: 0, resetSec: 600, shape: 'exception' });
    const ex = decodeFrames((await connectChat(emu.url, TOKEN, chatRequest('hi'))).body).frames.map((f) => f.json).find((j) => j.exception)?.exception;
    expect(exceptionError(ex)).toMatchObject({ code: 'quota_exhausted' });
    emu.control.setQuota(TOKEN, { limit: 0, resetSec: 600, shape: 'http' });
    const res = await connectChat(emu.url, TOKEN, chatRequest('hi'));
    expect(res.status).toBe(429);
    expect(errorFromUpstreamResponse(res.status, res.headers, res.body.toString('utf8'), 'connect')).toMatchObject({ code: 'quota_exhausted' });
  });

  it('the control API sets a limit over HTTP; reset clears it', async () => {
    const set = await send(`${emu.url}/__emulator/quota`, { method: 'POST', body: JSON.stringify({ token: TOKEN, limit: 0, resetSec: 60 }) });
    expect(set.status).toBe(200);
    expect((await connectChat(emu.url, TOKEN, chatRequest('hi'))).body.toString()).toContain('REASON_USAGE_LIMIT_EXCEEDED');
    emu.control.reset();
    expect((await connectChat(emu.url, TOKEN, chatRequest('hi'))).body.toString()).not.toContain('REASON_USAGE_LIMIT_EXCEEDED');
  });
});

describe('QuotaBook', () => {
  it('resets the counter when the window ends', () => {
    let now = 0;
    const book = new QuotaBook(() => now);
    book.set('k', { limit: 1, resetSec: 10 });
    expect(book.take('k')).toBeUndefined();
    expect(book.take('k')).toEqual({ shape: undefined, retryAfterSec: 10 });
    now = 9_500;
    expect(book.take('k')?.retryAfterSec).toBe(1);
    now = 10_000;
    expect(book.take('k')).toBeUndefined();
    expect(book.usage('k')).toEqual({ used: 1, total: 1, remain: 0 });
  });
});
