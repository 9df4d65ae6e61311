import { describe, expect, it } from "vitest";
import {
  counterDelta,
  cumulativeAt,
  cumulativeFromPower,
  detectUpdatePeriod,
  energyBetween,
  findGaps,
  integratePower,
  totalEnergy,
  wrapIsAmbiguous,
} from "./counter.js";
import { manualClock } from "./test-support.js";

/** max_energy_range_uj of a real Intel package zone (2^32 × 61 µJ, rounded by the kernel). */
const INTEL_MAX_RANGE_UJ = 262_143_328_850;

describe("counterDelta", () => {
  it("is the difference of a counter that went up", () => {
    expect(counterDelta(1_000, 4_500, INTEL_MAX_RANGE_UJ)).toEqual({
      delta: 3_500,
      wrapped: false,
    });
  });

  it("unwraps a counter that passed max_energy_range_uj", () => {
    expect(counterDelta(INTEL_MAX_RANGE_UJ - 1_000_000, 2_000_000, INTEL_MAX_RANGE_UJ)).toEqual({
      delta: 3_000_000,
      wrapped: true,
    });
  });

  it("refuses to guess when a counter went down with no known range", () => {
    expect(counterDelta(5_000, 10, null)).toEqual({ delta: null, wrapped: false });
  });

  it("refuses a previous value above the stated range (a different counter)", () => {
    expect(counterDelta(INTEL_MAX_RANGE_UJ + 5, 10, INTEL_MAX_RANGE_UJ)).toEqual({
      delta: null,
      wrapped: false,
    });
  });
});

describe("wrapIsAmbiguous", () => {
  it("is false for reads 100 ms apart on a 262 kJ counter", () => {
    expect(wrapIsAmbiguous(100, INTEL_MAX_RANGE_UJ / 1e6, 1000)).toBe(false);
  });

  it("is true once the whole range fits into the gap at the plausible maximum power", () => {
    expect(wrapIsAmbiguous(263_000, INTEL_MAX_RANGE_UJ / 1e6, 1000)).toBe(true);
  });
});

describe("integratePower", () => {
  it("integrates trapezoids and holds the edge values out to the window's ends", () => {
    const samples = [
      { t_ms: 100, power_w: 10 },
      { t_ms: 300, power_w: 30 },
    ];
    // 0–100 ms held at 10 W: 1 J; 100–300 ms, mean 20 W over 0.2 s: 4 J;
    // 300–500 ms held at 30 W: 6 J.
    expect(integratePower(samples, 0, 500)).toBeCloseTo(11, 12);
  });

  it("is null without samples", () => {
    expect(integratePower([], 0, 1000)).toBeNull();
  });
});

describe("findGaps", () => {
  it("counts intervals longer than 2.5 × nominal and reports the longest", () => {
    expect(findGaps([0, 100, 200, 900, 1000, 1400], 100)).toEqual({ count: 2, longest_ms: 700 });
  });
});

describe("totalEnergy", () => {
  it("sums known devices and is null if any device is unknown", () => {
    expect(totalEnergy([{ energy_j: 1.5 }, { energy_j: 2 }])).toBe(3.5);
    expect(totalEnergy([{ energy_j: 1.5 }, { energy_j: null }])).toBeNull();
    expect(totalEnergy([])).toBeNull();
  });
});

describe("cumulative energy and energyBetween", () => {
  const series: [number, number][] = [
    [0, 0],
    [100, 10],
    [200, 30],
    [300, 30],
  ];

  it("interpolates between readings and holds at the ends", () => {
    expect(cumulativeAt(series, 150)).toBe(20);
    expect(cumulativeAt(series, -5)).toBe(0);
    expect(cumulativeAt(series, 400)).toBe(30);
    expect(cumulativeAt([], 10)).toBeNull();
  });

  it("gives the energy of a span inside the window, null for one outside it", () => {
    expect(energyBetween(series, 50, 250)).toBe(25);
    expect(energyBetween(series, 0, 300)).toBe(30);
    expect(energyBetween(series, 250, 400)).toBeNull();
    expect(energyBetween(undefined, 0, 10)).toBeNull();
  });

  it("turns power samples into the same series as integratePower's total", () => {
    const samples = [
      { t_ms: 100, power_w: 10 },
      { t_ms: 300, power_w: 30 },
    ];
    const points = cumulativeFromPower(samples, 0, 500);
    expect(points.at(-1)![1]).toBeCloseTo(integratePower(samples, 0, 500)!, 12);
    expect(energyBetween(points, 100, 300)).toBeCloseTo(4, 12);
  });
});

describe("detectUpdatePeriod", () => {
  it("finds a counter's update period by polling it (a 100 ms counter, 2 ms polls)", async () => {
    const clock = manualClock(0);
    // The counter steps every 100 ms, starting at an arbitrary phase.
    const read = async () => 5_000 + Math.floor((clock.now() + 37) / 100) * 7_000;
    const found = await detectUpdatePeriod(read, clock);
    expect(found.changes).toBe(4);
    expect(found.period_ms).toBeGreaterThanOrEqual(98);
    expect(found.period_ms).toBeLessThanOrEqual(102);
    expect(found.polled_ms).toBeLessThan(450);
  });

  it("says null for a counter that does not exist or never moves", async () => {
    expect((await detectUpdatePeriod(async () => null, manualClock())).period_ms).toBeNull();
    const still = await detectUpdatePeriod(async () => 42, manualClock(), { budgetMs: 300 });
    expect(still).toMatchObject({ period_ms: null, changes: 0 });
    expect(still.polled_ms).toBeGreaterThanOrEqual(300);
  });
});
