/** Seeded PRNG (mulberry32) so hostile chunking is reproducible from `seed=N` or the message digest. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits bytes into pieces of 1..7 bytes drawn from `random`. */
export function hostilePieces(bytes: Uint8Array, random: () => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.byteLength; ) {
    const size = 1 + Math.floor(random() * 7);
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}
