/**
 * Exact o200k_base token count of a text, with a memo of the counts of its pieces.
 *
 * o200k encodes a text by first splitting it into pieces with one regular expression (words
 * with their leading space or punctuation, numbers of up to 3 digits, runs of whitespace)
 * and then encoding each piece on its own, so a text's count is the sum of its pieces'
 * counts. The library looks every piece up in its 200k-entry rank table; under load that
 * table misses the CPU caches on nearly every lookup, which made the tokenizer about a tenth
 * of the CPU of a short streamed answer. Pieces repeat a lot in any text (words follow a
 * Zipf law), so a small table of recent pieces answers most of them from cache.
 *
 * The memo is a pure function's cache: the same piece always has the same count, so it holds
 * no state that changes a result. It is bounded and simply starts over when full.
 */
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants';

/** Treat special-token strings such as `<|endoftext|>` as plain text instead of throwing. */
const ENCODE_OPTIONS = { disallowedSpecial: new Set<string>() };

/** The library's own split (global), as a separate instance so that its `lastIndex` is ours alone. */
const SPLIT = new RegExp(O200K_TOKEN_SPLIT_REGEX.source, O200K_TOKEN_SPLIT_REGEX.flags);

/** Pieces remembered at most (a few hundred KiB); enough for the common words of any text. */
const MEMO_SIZE = 8192;
/**
 * Longer pieces are counted without the memo: they rarely repeat (long CJK runs, code), and V8
 * keeps substrings of 13 characters or more as views into the whole text, which the memo
 * would then keep alive.
 */
const MEMO_PIECE_MAX = 12;

const memo = new Map<string, number>();

function countPiece(piece: string): number {
  if (piece.length > MEMO_PIECE_MAX) return countTokens(piece, ENCODE_OPTIONS);
  let n = memo.get(piece);
  if (n === undefined) {
    n = countTokens(piece, ENCODE_OPTIONS);
    if (memo.size >= MEMO_SIZE) memo.clear();
    memo.set(piece, n);
  }
  return n;
}

/** The number of o200k_base tokens of `text`, exactly as `countTokens` counts it. */
export function countO200kTokens(text: string): number {
  let total = 0;
  // `replace` with a callback walks the matches without making a match array for each (an
  // `exec` loop allocated ~6x more and ran ~30% slower); the returned text is discarded.
  text.replace(SPLIT, (piece: string) => {
    total += countPiece(piece);
    return '';
  });
  return total;
}
