/**
 * How a renderer ended a response, reported once through `onEnd`: the request log records it
 * instead of guessing from what it can see of the socket.
 *
 * - `finish`: the reply completed; `usage` is the renderer's estimate.
 * - `error`: the reply failed (an in-stream error frame, or an error the caller answers with).
 * - `client_gone`: the reader stopped pulling before either (the client went away).
 */
export type ResponseEnd =
  | { outcome: 'finish'; usage: { prompt_tokens: number; completion_tokens: number } }
  | { outcome: 'error'; error: unknown }
  | { outcome: 'client_gone' };

/** Calls an `onEnd` observer; a failing observer must never break the client's response. */
export function reportEnd(onEnd: ((end: ResponseEnd) => void) | undefined, end: ResponseEnd): void {
  if (!onEnd) return;
  try {
    onEnd(end);
  } catch {
    // Observers are bookkeeping only.
  }
}
