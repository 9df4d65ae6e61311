import { seededRandom } from "@llem/schema";
import { describe, expect, it } from "vitest";
import { arrivalSchedule, gammaSample } from "./arrivals.js";

function gaps(times: number[]): number[] {
  return times.slice(1).map((time, index) => time - (times[index] as number));
}
function meanAndCv(values: number[]) {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length;
  return { mean, cv: Math.sqrt(variance) / mean };
}

describe("arrivalSchedule", () => {
  it("starts at 0 and spaces constant arrivals exactly 1/rate apart", () => {
    const times = arrivalSchedule(5, { rate: 4, arrival: "constant", seed: 1 });
    expect(times).toEqual([0, 250, 500, 750, 1000]);
  });

  it("is the same for the same seed and differs for another", () => {
    const a = arrivalSchedule(50, { rate: 10, arrival: "poisson", seed: 7 });
    expect(arrivalSchedule(50, { rate: 10, arrival: "poisson", seed: 7 })).toEqual(a);
    expect(arrivalSchedule(50, { rate: 10, arrival: "poisson", seed: 8 })).not.toEqual(a);
  });

  it("draws poisson gaps with mean 1/rate and a CV of 1", () => {
    const { mean, cv } = meanAndCv(
      gaps(arrivalSchedule(20_001, { rate: 50, arrival: "poisson", seed: 3 })),
    );
    expect(mean).toBeCloseTo(20, 0);
    expect(cv).toBeGreaterThan(0.95);
    expect(cv).toBeLessThan(1.05);
  });

  it("draws gamma gaps with mean 1/rate and CV 1/sqrt(burstiness)", () => {
    for (const burstiness of [0.25, 4]) {
      const times = arrivalSchedule(20_001, { rate: 50, arrival: "gamma", burstiness, seed: 5 });
      const { mean, cv } = meanAndCv(gaps(times));
      expect(mean / 20).toBeGreaterThan(0.96);
      expect(mean / 20).toBeLessThan(1.04);
      expect(cv * Math.sqrt(burstiness)).toBeGreaterThan(0.95);
      expect(cv * Math.sqrt(burstiness)).toBeLessThan(1.05);
    }
  });

  it("gammaSample has mean equal to its shape", () => {
    const random = seededRandom(11);
    for (const shape of [0.5, 1, 2.5]) {
      let sum = 0;
      for (let index = 0; index < 20_000; index++) sum += gammaSample(random, shape);
      expect(sum / 20_000 / shape).toBeGreaterThan(0.97);
      expect(sum / 20_000 / shape).toBeLessThan(1.03);
    }
  });
});
