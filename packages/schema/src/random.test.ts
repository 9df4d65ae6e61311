import { describe, expect, it } from "vitest";
import { deriveSeed, seededRandom, shuffleInPlace, xoshiro128StarStar } from "./random.js";

describe("seededRandom", () => {
  it("xoshiro128** matches the reference implementation's first outputs for state 1,2,3,4", () => {
    const next = xoshiro128StarStar([1, 2, 3, 4]);
    expect([next(), next(), next(), next(), next()]).toEqual([
      11520, 0, 5927040, 70819200, 2031721883,
    ]);
  });
  it("is uniform enough and never out of range", () => {
    const random = seededRandom(42);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[random.below(3)]!++;
    for (const count of counts) expect(count).toBeGreaterThan(9_500);
    expect(() => random.below(0)).toThrow(RangeError);
  });
  it("distinguishes seeds beyond 32 bits", () => {
    const low = shuffleInPlace([1, 2, 3, 4, 5, 6, 7, 8], seededRandom(1));
    const high = shuffleInPlace([1, 2, 3, 4, 5, 6, 7, 8], seededRandom(2 ** 40 + 1));
    expect(high).not.toEqual(low);
  });
  it("gives floats in [0, 1) and derived seeds that differ by name", () => {
    const random = seededRandom(7);
    for (let i = 0; i < 1000; i++) {
      const value = random.nextFloat();
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
    }
    expect(deriveSeed(0, "a")).not.toBe(deriveSeed(0, "b"));
    expect(deriveSeed(0, "a")).not.toBe(deriveSeed(1, "a"));
    expect(deriveSeed(0, "a")).toBe(deriveSeed(0, "a"));
  });
});
