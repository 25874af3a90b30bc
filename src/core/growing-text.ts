/** Approximate bytes a rope node and its small piece cost beyond the piece's characters. */
const NODE_BYTES = 48;

/**
 * A string grown by many small appends and kept for a whole stream (the upstream content of
 * a block, the answer so far). V8 builds `a + b` as a rope node pointing at both parts, so
 * such a text becomes a chain of thousands of nodes, several times the size of the text
 * itself, which the garbage collector copies and promotes while the stream lasts. Reading a
 * character flattens a rope in place (one copy of the text), so it is done once the nodes
 * added since the last flattening would cost about as much as the text itself: the text then
 * costs at most about twice its size, and a text grown by large pieces, whose nodes cost
 * little, is never copied. (Figures: docs/benchmarks.md.)
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
