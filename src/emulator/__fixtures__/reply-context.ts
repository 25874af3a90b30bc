/** The reply context of one emulator turn, as the tests of its reply planning build it. */
import type { ReplyContext } from '../reply-plan.js';

/** A Connect turn of a new chat without thinking, search or delays; `over` changes any of it. */
export const replyContext = (text: string, over: Partial<ReplyContext> = {}): ReplyContext => ({
  text,
  protocol: 'connect',
  thinkingRequested: false,
  searchEnabled: false,
  history: [],
  chatId: 'c1',
  defaultDelayMs: 0,
  defaultHeartbeatMs: 5000,
  ...over,
});
