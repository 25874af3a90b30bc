/**
 * Transparent continuation of replies cut by the upstream's length limit (REST `length`
 * event; continued with `segment_id` + `action: "continue"` on the same chat, spec A.4).
 * The client sees one answer; only the last segment's finish reason reaches it.
 */
import type { ChatEvent } from '../core/chat-event.js';

export interface ContinuationOptions {
  /** Opens the continuation of segment `segmentId` in chat `chatId`. */
  open: (chatId: string, segmentId: string) => Promise<AsyncIterable<ChatEvent>>;
  /** At most this many continuations per answer. */
  max: number;
}

export async function* continueOnLength(events: AsyncIterable<ChatEvent>, opts: ContinuationOptions): AsyncGenerator<ChatEvent> {
  let current = events;
  let chatId: string | undefined;
  for (let round = 0; ; round++) {
    let segmentId: string | undefined;
    let cut = false;
    for await (const ev of current) {
      if (ev.type === 'meta') {
        chatId = ev.chatId ?? chatId;
        segmentId = ev.segmentId ?? segmentId;
      }
      if (ev.type === 'finish' && ev.reason === 'length' && round < opts.max && chatId && segmentId) {
        cut = true;
        break;
      }
      yield ev;
    }
    if (!cut) return;
    current = await opts.open(chatId!, segmentId!);
  }
}
