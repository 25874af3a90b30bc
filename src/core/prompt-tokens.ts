/**
 * Prompt-token estimates that remember the long texts a client repeats on every request.
 *
 * Agents resend the same system prompt and tool instructions (tens of KB) on every step; only
 * the messages around them change. Estimating those again on each request is the largest
 * per-request cost of an agent step after the bytes themselves, so the estimate of each long
 * repeated text is kept (bounded, oldest dropped first) and only the rest of the prompt is
 * estimated anew. The sum of the parts is an estimate like the whole (core/tokens.ts).
 */
import { BoundedCache } from './bounded-cache.js';
import { estimateTokens } from './tokens.js';

/** Shorter texts are estimated every time: cheaper than remembering them. */
const MIN_REMEMBERED_LENGTH = 2048;

export class PromptTokenCounter {
  readonly #known: BoundedCache<string, number>;

  constructor(
    maxEntries = 64,
    private readonly count: (text: string) => number = estimateTokens,
  ) {
    this.#known = new BoundedCache(maxEntries);
  }

  /**
   * Estimated tokens of `text`, in which `repeated` (in order of appearance) are texts likely to
   * come back on later requests; those not found in `text` are ignored.
   */
  estimate(text: string, repeated: readonly string[] = []): number {
    let tokens = 0;
    let rest = '';
    let from = 0;
    for (const piece of repeated) {
      if (piece.length < MIN_REMEMBERED_LENGTH) continue;
      const at = text.indexOf(piece, from);
      if (at < 0) continue;
      rest += text.slice(from, at);
      tokens += this.#known.getOrMake(piece, () => this.count(piece));
      from = at + piece.length;
    }
    return tokens + this.count(from === 0 ? text : rest + text.slice(from));
  }
}
