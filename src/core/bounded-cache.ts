/**
 * A map that keeps at most `max` entries and drops the oldest one first: for remembering work
 * on inputs that come back (compiled schemas, offered tool sets, token estimates, weight rings)
 * without growing with every distinct input clients send. One instance lives in the object
 * that owns the work (no module-level state).
 */
export class BoundedCache<K, V> {
  readonly #entries = new Map<K, V>();

  constructor(private readonly max: number) {}

  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  set(key: K, value: V): void {
    if (!this.#entries.has(key) && this.#entries.size >= this.max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, value);
  }

  /** The value kept for `key`, or the one `make` gives, kept. A `make` that throws keeps nothing. */
  getOrMake(key: K, make: () => V): V {
    const hit = this.#entries.get(key);
    if (hit !== undefined) return hit;
    const value = make();
    this.set(key, value);
    return value;
  }
}
