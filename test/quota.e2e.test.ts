/** Kimi's usage limits end to end: an account that runs out rests, others serve, the client sees an error only when all are out. */
import { afterEach, describe, expect, it } from 'vitest';
import type { AccountStatus } from '../src/accounts/pool.js';
import { postJson, startHarness, type Harness, type HarnessOptions } from './helpers/harness.js';

const ask = (h: Harness, text: string) => postJson(h, { model: 'k2', messages: [{ role: 'user', content: text }] });

function statusOf(h: Harness, name: string): AccountStatus {
  const s = h.app.services.pool.status().find((a) => a.name === name);
  if (!s) throw new Error(`no account named ${name}`);
  return s;
}

describe('usage limits end to end', () => {
  let h: Harness | undefined;
  const start = async (opts: HarnessOptions): Promise<Harness> => {
    h = await startHarness(opts);
    return h;
  };
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it.each([
    ['connect', 'stream-error'],
    ['connect', 'exception'],
    ['rest', undefined],
  ] as const)('an account that runs out mid-session rests until the reset; the next requests go to the other one without an error (%s, %s)', async (protocol, shape) => {
    const h = await start({ env: { KIMI_PROTOCOL: protocol } });
    h.emulator.control.setQuota('tok-alpha', { limit: 1, resetSec: 7200, ...(shape ? { shape } : {}) });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await ask(h, `[[emu reply="answer ${i}"]] question ${i}`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    const alpha = statusOf(h, 'account-1');
    expect(alpha).toMatchObject({ state: 'cooling', restReason: 'quota' });
    // The reset time came with the answer (HTTP Retry-After) or is the configured hour.
    expect(alpha.cooldownUntil! - Date.now()).toBeGreaterThan(55 * 60_000);
    expect(statusOf(h, 'account-2').state).toBe('healthy');
  });

  it('when every account is out, the client gets 429 insufficient_quota with the reset time and x-should-retry: false', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: 'connect' } });
    h.emulator.control.setQuota('tok-alpha', { limit: 0, resetSec: 600, shape: 'http' });
    h.emulator.control.setQuota('tok-beta', { limit: 0, resetSec: 900, shape: 'http' });
    const first = await ask(h, 'hello');
    expect(first.status).toBe(429);
    expect(first.json.error).toMatchObject({ code: 'quota_exhausted', type: 'insufficient_quota' });
    expect(first.headers.get('x-should-retry')).toBe('false');
    const again = await ask(h, 'hello again');
    expect(again.status).toBe(429);
    expect(again.json.error.code).toBe('quota_exhausted');
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(590);
    expect(Number(again.headers.get('retry-after'))).toBeLessThanOrEqual(600);
  });
});
