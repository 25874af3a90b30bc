/** Approximate bytes a rope node and its small piece cost beyond the piece's characters. */
const NODE_BYTES = 48;

/**
 * A string grown by many small appends and kept for a whole stream (the upstream content of
 * a block, the answer so far). V8 builds `a + b` as a rope node pointing at both parts, so
 * such a text becomes a chain of thousands of nodes, about nine times the size of the text
 * itself (measured: 270 KiB for a 30k-character answer of 5,000 deltas), which the garbage
 * collector copies and promotes while the stream lasts. Reading a character flattens a rope
 * in place (one copy of the text), so it is done once the nodes added since the last
 * flattening would cost about as much as the text itself: the text then costs at most about
 * twice its size (28 KiB in the same measurement, for copies adding up to ~7 times the
 * text), and a text grown by large pieces, whose nodes cost little, is never copied.
 */
export class GrowingText {
  #text: string;
  #appends = 0;

  constructor(text = '') {
    this.#text = text;
  }

  get text(): string {
    return this.#text;
  }

  get length(): number {
    return this.#text.length;
  }

  set(text: string): void {
    this.#text = text;
    this.#appends = 0;
  }

  append(piece: string): void {
    this.#text += piece;
    if (++this.#appends * NODE_BYTES >= this.#text.length) {
      this.#appends = 0;
      this.#text.charCodeAt(0);
    }
  }
}
