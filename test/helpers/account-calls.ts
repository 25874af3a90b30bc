/** Which proxy account sent the chat calls the emulator saw (tests about account selection). */
import type { Harness } from './harness.js';

/** The chat call of either protocol (REST completion stream, Connect Chat). */
export const CHAT_PATH = /completion\/stream$|ChatService\/Chat$/;

/** Chat calls the emulator received, in order, by the name of the proxy account that sent them (its stable device id). */
export function chatCallAccounts(h: Harness): string[] {
  const byDevice = new Map(h.app.services.pool.list().map((a) => [a.deviceId, a.name]));
  return h.emulator
    .stats()
    .recentRequests.filter((r) => CHAT_PATH.test(r.path))
    .map((r) => byDevice.get(r.headers['x-msh-device-id'] ?? '') ?? 'unknown');
}

/** How many chat calls the emulator received from each proxy account, by account name. */
export function chatCallsByAccount(h: Harness): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of chatCallAccounts(h)) out[name] = (out[name] ?? 0) + 1;
  return out;
}
