import { describe, expect, it } from "vitest";
import { adjustedEnergy, consistencyChecks, energyPer, meanPower } from "./energy.js";

describe("adjustedEnergy", () => {
  it("subtracts idle power over the window", () => {
    expect(adjustedEnergy(1000, 20, 30)).toBe(400);
  });

  it("clamps at zero when idle power exceeds the window's average", () => {
    expect(adjustedEnergy(100, 20, 30)).toBe(0);
  });

  it("stays null without raw energy", () => {
    expect(adjustedEnergy(null, 20, 30)).toBeNull();
  });
});

describe("meanPower and energyPer", () => {
  it("divide, and give null without energy or a denominator", () => {
    expect(meanPower(500, 10)).toBe(50);
    expect(meanPower(500, 0)).toBeNull();
    expect(meanPower(null, 10)).toBeNull();
    expect(energyPer(500, 250)).toBe(2);
    expect(energyPer(500, 0)).toBeNull();
  });
});

/** A self-consistent result: 600 J over 12 s with 1200 output tokens. */
const consistent = {
  energy_j: 600,
  mean_power_w: 50,
  window_s: 12,
  output_tokens: 1200,
  energy_per_output_token_j: 0.5,
  output_tokens_per_s: 100,
};

describe("consistencyChecks", () => {
  it("passes figures that come from one window", () => {
    expect(consistencyChecks(consistent)).toEqual([]);
  });

  it("passes small rounding differences within the tolerance", () => {
    expect(consistencyChecks({ ...consistent, mean_power_w: 51, output_tokens_per_s: 98 })).toEqual(
      [],
    );
  });

  it("catches a unit slip in mean power", () => {
    const warnings = consistencyChecks({ ...consistent, mean_power_w: 50_000 });
    expect(warnings.map((w) => w.code)).toEqual([
      "inconsistent_mean_power",
      "inconsistent_power_throughput",
    ]);
    expect(warnings[0]!.message).toMatch(/5\.000e\+4 vs 50\.00/);
  });

  it("catches J/token computed from baseline-adjusted energy while power is raw", () => {
    const warnings = consistencyChecks({ ...consistent, energy_per_output_token_j: 0.3 });
    expect(warnings.map((w) => w.code)).toEqual([
      "inconsistent_energy_per_token",
      "inconsistent_power_throughput",
    ]);
  });

  it("catches throughput timed over a different span than the energy", () => {
    const warnings = consistencyChecks({ ...consistent, output_tokens_per_s: 150 });
    expect(warnings.map((w) => w.code)).toEqual(["inconsistent_power_throughput"]);
  });

  it("skips checks whose inputs are missing (no energy)", () => {
    expect(
      consistencyChecks({
        ...consistent,
        energy_j: null,
        mean_power_w: null,
        energy_per_output_token_j: null,
      }),
    ).toEqual([]);
  });
});
