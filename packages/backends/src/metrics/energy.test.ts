import { seededRandom } from "@llem/schema";
import { describe, expect, it } from "vitest";
import {
  adjustedEnergy,
  consistencyChecks,
  energyPer,
  meanPower,
  type ReportedFigures,
} from "./energy.js";

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

/** What a self-consistent result reports: 600 J raw, 360 J above idle, over 12 s. */
const consistent: ReportedFigures = {
  window: { duration_s: 12 },
  tokens: { output: 1200, requests: 8 },
  energy: {
    raw_j: 600,
    adjusted_j: 360,
    energy_per_output_token_j: 0.3,
    energy_per_output_token_raw_j: 0.5,
    energy_per_output_token_adjusted_j: 0.3,
    energy_per_request_j: 45,
    mean_power_w: 50,
    duration_s: 12,
    per_device: [{ device: "gpu0", energy_j: 600, integrated_j: 590 }],
  },
};

function withEnergy(energy: Partial<ReportedFigures["energy"]>): ReportedFigures {
  return { ...consistent, energy: { ...consistent.energy, ...energy } };
}

const codes = (figures: ReportedFigures) => consistencyChecks(figures).map((w) => w.code);

describe("consistencyChecks", () => {
  it("passes a result whose figures agree", () => {
    expect(consistencyChecks(consistent)).toEqual([]);
  });

  it.each([
    ["headline J/token", { energy_per_output_token_j: 0.5 }, "inconsistent_energy_per_token"],
    ["raw J/token", { energy_per_output_token_raw_j: 0.3 }, "inconsistent_energy_per_token"],
    [
      "adjusted J/token",
      { energy_per_output_token_adjusted_j: 0.5 },
      "inconsistent_energy_per_token",
    ],
    ["J/request", { energy_per_request_j: 75 }, "inconsistent_energy_per_request"],
    ["mean power", { mean_power_w: 50_000 }, "inconsistent_mean_power"],
    ["raw energy in kJ", { raw_j: 0.6 }, "inconsistent_mean_power"],
    [
      "counter vs power samples",
      { per_device: [{ device: "gpu0", energy_j: 600, integrated_j: 900 }] },
      "counter_power_disagree",
    ],
  ] as const)("warns when the %s disagrees with what it derives from", (_label, change, code) => {
    expect(codes(withEnergy(change))).toContain(code);
  });

  it("names both figures and the tolerance", () => {
    const [warning] = consistencyChecks(withEnergy({ mean_power_w: 60 }));
    expect(warning?.message).toMatch(
      /720\.0 reported, 600\.0 from .* 16\.7 % apart \(tolerance 5 %\)/,
    );
  });

  it("tolerates the counter and the power samples differing by less than 10 %", () => {
    expect(
      codes(withEnergy({ per_device: [{ device: "gpu0", energy_j: 600, integrated_j: 650 }] })),
    ).toEqual([]);
  });

  it("checks nothing that is not reported (no energy, no baseline)", () => {
    expect(
      consistencyChecks(
        withEnergy({
          raw_j: null,
          adjusted_j: null,
          energy_per_output_token_j: null,
          energy_per_output_token_raw_j: null,
          energy_per_output_token_adjusted_j: null,
          energy_per_request_j: null,
          mean_power_w: null,
          per_device: [],
        }),
      ),
    ).toEqual([]);
  });

  it("over random results: silent when consistent, warns when one figure is off by ≥ 20 %", () => {
    const random = seededRandom(11);
    const fields = [
      "energy_per_output_token_j",
      "energy_per_output_token_raw_j",
      "energy_per_output_token_adjusted_j",
      "energy_per_request_j",
      "mean_power_w",
    ] as const;
    for (let index = 0; index < 2_000; index++) {
      const rawJ = 1 + random.nextFloat() * 10_000;
      const adjustedJ = random.below(2) === 0 ? null : rawJ * random.nextFloat();
      const output = 1 + random.below(100_000);
      const requests = 1 + random.below(1_000);
      const seconds = 0.05 + random.nextFloat() * 600;
      const basis = adjustedJ ?? rawJ;
      const figures: ReportedFigures = {
        window: { duration_s: seconds },
        tokens: { output, requests },
        energy: {
          raw_j: rawJ,
          adjusted_j: adjustedJ,
          energy_per_output_token_j: basis / output,
          energy_per_output_token_raw_j: rawJ / output,
          energy_per_output_token_adjusted_j: adjustedJ === null ? null : adjustedJ / output,
          energy_per_request_j: basis / requests,
          mean_power_w: rawJ / seconds,
          duration_s: seconds,
          per_device: [],
        },
      };
      expect(consistencyChecks(figures)).toEqual([]);
      const field = fields[random.below(fields.length)]!;
      const value = figures.energy[field];
      if (value === null || value === undefined || value === 0) continue;
      const factor =
        random.below(2) === 0 ? 1.2 + random.nextFloat() * 10 : 0.8 * random.nextFloat();
      expect(consistencyChecks(withFigures(figures, field, value * factor)).length).toBeGreaterThan(
        0,
      );
    }
  });
});

function withFigures(
  figures: ReportedFigures,
  field: keyof ReportedFigures["energy"],
  value: number,
) {
  return { ...figures, energy: { ...figures.energy, [field]: value } };
}
