/** Which proxy account sent the chat calls the emulator saw (tests about account selection). */
import type { Harness } from './harness.js';

/** The chat call of either protocol (REST completion stream, Connect Chat). */
export const CHAT_PATH = /completion\/stream$|ChatService\/Chat$/;

/** Chat calls the emulator received, by the name of the proxy account that sent them (its stable device id). */
export function chatCallsByAccount(h: Harness): Record<string, number> {
  const byDevice = new Map(h.app.services.pool.list().map((a) => [a.deviceId, a.name]));
  const out: Record<string, number> = {};
  for (const r of h.emulator.stats().recentRequests) {
    if (!CHAT_PATH.test(r.path)) continue;
    const name = byDevice.get(r.headers['x-msh-device-id'] ?? '') ?? 'unknown';
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}
