/**
 * llem's one seeded pseudo-random generator: xoshiro128** (Blackman & Vigna, 2018) seeded through
 * splitmix32. It orders shuffled studies, shuffles prompts and fills synthetic models' weights.
 * Pure 32-bit integer arithmetic (`Math.imul`, `>>>`), so a seed gives the same sequence on every
 * machine, Node version and platform — unlike `Math.random`, which cannot be seeded. Exact parity
 * with Python's MT19937 orders is deliberately not a goal. Not for cryptography.
 */
export interface SeededRandom {
  /** Next unsigned 32-bit integer. */
  nextUint32(): number;
  /** Uniform integer in [0, bound), without modulo bias (rejection sampling). */
  below(bound: number): number;
  /** Uniform float in [0, 1), from 32 random bits. */
  nextFloat(): number;
}

/** splitmix32: spreads a 32-bit seed into well-mixed state words (seeds 0, 1, 2 … differ fully). */
function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** The bare xoshiro128** generator over a 4-word state (exported for the reference-vector test). */
export function xoshiro128StarStar(state: [number, number, number, number]): () => number {
  let [s0, s1, s2, s3] = state.map((word) => word >>> 0) as [number, number, number, number];
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1; // the all-zero state is a fixed point
  return () => {
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 = (s2 ^ s0) >>> 0;
    s3 = (s3 ^ s1) >>> 0;
    s1 = (s1 ^ s2) >>> 0;
    s0 = (s0 ^ s3) >>> 0;
    s2 = (s2 ^ t) >>> 0;
    s3 = rotl(s3, 11);
    return result;
  };
}

export function seededRandom(seed: number): SeededRandom {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  // Fold seeds beyond 32 bits in, so that shuffle_seed: 2**40 + 1 ≠ shuffle_seed: 1.
  const high = Math.floor(seed / 2 ** 32);
  const mix = splitmix32((seed >>> 0) ^ Math.imul(high >>> 0, 0x85ebca6b));
  const nextUint32 = xoshiro128StarStar([mix(), mix(), mix(), mix()]);
  const below = (bound: number): number => {
    if (!Number.isInteger(bound) || bound < 1 || bound > 2 ** 32) {
      throw new RangeError(`bound must be an integer in [1, 2^32], got ${bound}`);
    }
    // Largest multiple of bound that fits in 32 bits; draws above it would favour small values.
    const limit = 2 ** 32 - (2 ** 32 % bound);
    for (;;) {
      const draw = nextUint32();
      if (draw < limit) return draw % bound;
    }
  };
  const nextFloat = (): number => nextUint32() / 2 ** 32;
  return { nextUint32, below, nextFloat };
}

/**
 * A 32-bit seed for one named stream of a seeded whole (FNV-1a over the seed and the name), so
 * that e.g. each tensor of a synthetic model gets its own stream and adding a tensor leaves the
 * others' weights unchanged.
 *
 *   deriveSeed(0, "blk.0.attn_q.weight") ≠ deriveSeed(0, "blk.1.attn_q.weight")
 */
export function deriveSeed(seed: number, name: string): number {
  let hash = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  hash = Math.imul(hash, 0x01000193) >>> 0;
  hash = (hash ^ Math.floor(seed / 2 ** 32)) >>> 0;
  for (let index = 0; index < name.length; index++) {
    hash ^= name.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** Fisher–Yates (Durstenfeld) shuffle in place, from the last element down. */
export function shuffleInPlace<T>(items: T[], random: SeededRandom): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.below(i + 1);
    const held = items[i]!;
    items[i] = items[j]!;
    items[j] = held;
  }
  return items;
}
