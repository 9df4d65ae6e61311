import { describe, expect, it } from "vitest";
import { cumulative, downsample, paretoFront, quantile, round, spread } from "./stats.js";

describe("report statistics", () => {
  it("spread: mean, sample sd, CV; one value has no CV", () => {
    const figure = spread([2, 4]);
    expect(figure).toMatchObject({ n: 2, mean: 3, min: 2, max: 4 });
    expect(figure?.sd).toBeCloseTo(Math.SQRT2, 12);
    expect(figure?.cv).toBeCloseTo(Math.SQRT2 / 3, 12);
    expect(spread([5])).toEqual({ n: 1, mean: 5, sd: 0, cv: null, min: 5, max: 5 });
    expect(spread([])).toBeNull();
  });

  it("paretoFront: faster-and-cheaper dominates; trade-offs stay; ties follow the documented rule", () => {
    expect(paretoFront([1, 2, 3], [1, 2, 0.5], "higher")).toEqual([2]);
    expect(paretoFront([1, 2, 3], [1, 0.8, 2], "higher")).toEqual([1, 2]);
    expect(paretoFront([1, 2], [3, 1], "lower")).toEqual([0, 1]);
    expect(paretoFront([1, 2], [1, 3], "lower")).toEqual([0]);
    expect(paretoFront([2, 1], [1, 3], "lower")).toEqual([1, 0]);
    // identical points both stay; equal on one coordinate and worse on the other is dominated
    expect(paretoFront([1, 1, 1], [1, 1, 2], "higher")).toEqual([0, 1]);
    expect(paretoFront([1, 2], [1, 1], "higher")).toEqual([1]);
    expect(paretoFront([], [], "higher")).toEqual([]);
  });

  it("paretoFront agrees with a brute-force dominance check on random points", () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 16807) % 2147483647;
      return (seed % 1000) / 100;
    };
    for (let round = 0; round < 50; round++) {
      const xs = Array.from({ length: 40 }, next);
      const ys = Array.from({ length: 40 }, next);
      const dominated = (i: number) =>
        xs.some(
          (x, j) =>
            x >= (xs[i] as number) &&
            (ys[j] as number) <= (ys[i] as number) &&
            (x > (xs[i] as number) || (ys[j] as number) < (ys[i] as number)),
        );
      const expected = xs.map((_, i) => i).filter((i) => !dominated(i));
      expect(new Set(paretoFront(xs, ys, "higher"))).toEqual(new Set(expected));
    }
  });

  it("quantile interpolates linearly; cumulative keeps at most steps + 1 points", () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 1)).toBe(4);
    const million = Array.from({ length: 1_000_000 }, (_, i) => i);
    const { ms, fraction } = cumulative(million);
    expect(ms).toHaveLength(101);
    expect(fraction[50]).toBe(0.5);
    expect(ms[50]).toBeCloseTo(499_999.5, 6);
    expect(cumulative([3])).toEqual({ ms: [3, 3], fraction: [0, 1] });
  });

  it("downsample keeps short series and bucket-averages long ones (the mean survives)", () => {
    expect(downsample([1, 2], [3, 4], 10)).toEqual({ xs: [1, 2], ys: [3, 4] });
    const xs = Array.from({ length: 1000 }, (_, i) => i);
    const ys = xs.map((x) => (x % 2 === 0 ? 10 : 20));
    const thin = downsample(xs, ys, 100);
    expect(thin.xs).toHaveLength(100);
    expect(thin.ys.every((y) => y === 15)).toBe(true);
    expect(round(0.0015465762104112362, 5)).toBe(0.0015466);
  });
});
