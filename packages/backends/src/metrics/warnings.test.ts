import { describe, expect, it } from "vitest";
import { measurementWarnings } from "./warnings.js";

const solid = { window_s: 30, sample_count: 300, method: "measured", sampler: "rapl" } as const;

describe("measurementWarnings", () => {
  it("has nothing to say about a long, well-sampled, measured window", () => {
    expect(measurementWarnings(solid)).toEqual([]);
  });

  it("flags a window under 10 s and fewer than 10 samples", () => {
    const codes = measurementWarnings({ ...solid, window_s: 4.2, sample_count: 3 }).map(
      (w) => w.code,
    );
    expect(codes).toEqual(["short_window", "low_sample_count"]);
  });

  it("labels estimated energy", () => {
    const warnings = measurementWarnings({ ...solid, method: "estimated", sampler: "estimate" });
    expect(warnings).toEqual([expect.objectContaining({ code: "estimated_energy" })]);
  });

  it("says there is no energy for sampler none, without a sample-count complaint", () => {
    const codes = measurementWarnings({
      ...solid,
      method: "none",
      sampler: "none",
      sample_count: 0,
    }).map((w) => w.code);
    expect(codes).toEqual(["no_energy"]);
  });

  it("flags thermal drift over 10 °C only where both temperatures are known", () => {
    const warnings = measurementWarnings({
      ...solid,
      sampler: "nvml",
      temperatures: [
        { device: "gpu0", start_c: 45, end_c: 58 },
        { device: "gpu1", start_c: 44, end_c: 50 },
        { device: "gpu2", start_c: null, end_c: 90 },
      ],
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: "thermal_drift" });
    expect(warnings[0]!.message).toContain("gpu0 went from 45 °C to 58 °C");
  });

  it("passes the sampler's own notes through", () => {
    const warnings = measurementWarnings({
      ...solid,
      sampler_warnings: ["rapl: 2 of 50 reads failed"],
    });
    expect(warnings).toEqual([{ code: "sampler", message: "rapl: 2 of 50 reads failed" }]);
  });
});
