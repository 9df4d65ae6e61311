import { LlemError } from "@llem/schema";
import { describe, expect, it } from "vitest";
import { coefficientOfVariation, percentile, summarize } from "./stats.js";

describe("summarize", () => {
  it("is null for no values", () => {
    expect(summarize([])).toBeNull();
  });

  it("gives every statistic of a single value as that value", () => {
    expect(summarize([42])).toEqual({
      mean: 42,
      p50: 42,
      p95: 42,
      p99: 42,
      min: 42,
      max: 42,
      count: 1,
    });
  });

  it("interpolates percentiles linearly between order statistics (NumPy's default)", () => {
    // numpy.percentile([1, 2, 3, 4], [50, 95, 99]) → [2.5, 3.85, 3.97]
    const summary = summarize([4, 1, 3, 2])!;
    expect(summary.p50).toBeCloseTo(2.5, 12);
    expect(summary.p95).toBeCloseTo(3.85, 12);
    expect(summary.p99).toBeCloseTo(3.97, 12);
    expect(summary).toMatchObject({ mean: 2.5, min: 1, max: 4, count: 4 });
  });

  it("matches NumPy on 1…100 and does not reorder the caller's array", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    const copy = [...values];
    const summary = summarize(values)!;
    // numpy.percentile(range(1, 101), [50, 95, 99]) → [50.5, 95.05, 99.01]
    expect(summary.p50).toBeCloseTo(50.5, 10);
    expect(summary.p95).toBeCloseTo(95.05, 10);
    expect(summary.p99).toBeCloseTo(99.01, 10);
    expect(values).toEqual(copy);
  });

  it("refuses non-finite values instead of returning NaN statistics", () => {
    expect(() => summarize([1, Number.NaN])).toThrow(LlemError);
    expect(() => summarize([1, Number.POSITIVE_INFINITY])).toThrow(/finite/);
  });
});

describe("percentile", () => {
  it("returns the ends at 0 and 100 and rejects ranks outside", () => {
    expect(percentile([1, 5, 9], 0)).toBe(1);
    expect(percentile([1, 5, 9], 100)).toBe(9);
    expect(() => percentile([1], 101)).toThrow(LlemError);
    expect(() => percentile([], 50)).toThrow(LlemError);
  });
});

describe("coefficientOfVariation", () => {
  it("is the population standard deviation over the mean", () => {
    // values 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population sd 2
    expect(coefficientOfVariation([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(0.4, 12);
  });

  it("is 0 for identical values and null where it means nothing", () => {
    expect(coefficientOfVariation([3, 3, 3])).toBe(0);
    expect(coefficientOfVariation([3])).toBeNull();
    expect(coefficientOfVariation([-1, 1])).toBeNull();
  });
});
