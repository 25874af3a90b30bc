/**
 * Prompt-token estimates that remember the long texts a client repeats on every request.
 *
 * Agents resend the same system prompt and tool instructions (tens of KB) on every step; only
 * the messages around them change. Estimating those again on each request is the largest
 * per-request cost of an agent step after the bytes themselves, so the estimate of each long
 * repeated text is kept (bounded, oldest dropped first) and only the rest of the prompt is
 * estimated anew. The sum of the parts is an estimate like the whole (core/tokens.ts).
 */
import { estimateTokens } from './tokens.js';

/** Shorter texts are estimated every time: cheaper than remembering them. */
const MIN_REMEMBERED_LENGTH = 2048;

export class PromptTokenCounter {
  readonly #known = new Map<string, number>();

  constructor(
    private readonly maxEntries = 64,
    private readonly count: (text: string) => number = estimateTokens,
  ) {}

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
      tokens += this.remembered(piece);
      from = at + piece.length;
    }
    return tokens + this.count(from === 0 ? text : rest + text.slice(from));
  }

  private remembered(piece: string): number {
    const hit = this.#known.get(piece);
    if (hit !== undefined) return hit;
    const tokens = this.count(piece);
    if (this.#known.size >= this.maxEntries) this.#known.delete(this.#known.keys().next().value!);
    this.#known.set(piece, tokens);
    return tokens;
  }
}
