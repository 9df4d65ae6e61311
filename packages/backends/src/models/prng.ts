/**
 * Small seeded pseudo-random generators. Deterministic across platforms (integer arithmetic only
 * up to the final scaling), so synthetic weights and shuffled prompt orders are reproducible.
 */

/** FNV-1a over a string: turns a seed plus a name (e.g. a tensor name) into a 32-bit stream seed. */
export function hashSeed(seed: number, name: string): number {
  let hash = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  hash = Math.imul(hash, 0x01000193) >>> 0;
  hash = (hash ^ Math.floor(seed / 2 ** 32)) >>> 0;
  for (let index = 0; index < name.length; index++) {
    hash ^= name.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** mulberry32: a fast 32-bit generator, good enough for weights and shuffles (not for crypto). */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle of a copy, driven by `createRandom(seed)`. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  const random = createRandom(hashSeed(seed, "shuffle"));
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
  }
  return copy;
}
