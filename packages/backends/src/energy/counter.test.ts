import { describe, expect, it } from "vitest";
import { counterDelta, findGaps, integratePower, totalEnergy, wrapIsAmbiguous } from "./counter.js";

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
