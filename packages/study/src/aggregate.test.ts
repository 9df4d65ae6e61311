import type { ExperimentResult, ManifestEntry } from "@llem/schema";
import { describe, expect, it } from "vitest";
import { aggregateConfigs } from "./aggregate.js";

/** A result with only the fields aggregation reads (energy, tokens, throughput, latency). */
function result(rawJ: number | null, adjustedJ: number | null, output = 100): ExperimentResult {
  const basis = adjustedJ ?? rawJ;
  return {
    tokens: { input: 10, output, total: 10 + output, requests: 4 },
    throughput: { output_tokens_per_s: 50, total_tokens_per_s: 55, requests_per_s: 2 },
    latency: { ttft_ms: null, itl_ms: null, request_latency_ms: null },
    energy: {
      method: rawJ === null ? "none" : "measured",
      raw_j: rawJ,
      adjusted_j: adjustedJ,
      energy_per_output_token_j: basis === null ? null : basis / output,
      mean_power_w: null,
    },
  } as unknown as ExperimentResult;
}

const entry = (hash: string, cycle: number): ManifestEntry => ({
  config_hash: hash,
  config_summary: `config ${hash}`,
  cycle,
  status: "completed",
});

describe("aggregateConfigs: raw and adjusted energy, each named", () => {
  it("aggregates raw and adjusted energy and J/token apart, and says which the headline is", () => {
    const entries = [entry("a", 1), entry("a", 2), entry("b", 1), entry("c", 1), entry("c", 2)];
    const results = new Map([
      ["a", [result(100, 60), result(120, 80)]],
      ["b", [result(90, null)]],
      ["c", [result(100, 50), result(100, null)]],
    ]);
    const [a, b, c] = aggregateConfigs(entries, results);
    expect(a?.energy_basis).toBe("adjusted");
    expect(a?.metrics.energy_j).toMatchObject({ n: 2, mean: 110 });
    expect(a?.metrics.energy_adjusted_j).toMatchObject({ n: 2, mean: 70 });
    expect(a?.metrics.energy_per_output_token_raw_j).toMatchObject({ mean: 1.1 });
    expect(a?.metrics.energy_per_output_token_adjusted_j).toMatchObject({ mean: 0.7 });
    expect(a?.metrics.energy_per_output_token_j).toMatchObject({ mean: 0.7 });
    expect(b?.energy_basis).toBe("raw");
    expect(b?.metrics.energy_adjusted_j).toBeNull();
    expect(b?.metrics.energy_per_output_token_j).toMatchObject({ mean: 0.9 });
    expect(c?.energy_basis).toBe("mixed");
  });

  it("has no basis without energy, and min/max over many cycles without spreading arguments", () => {
    const many = Array.from({ length: 200_000 }, (_, index) => result(index + 1, null, 1));
    const [config] = aggregateConfigs([entry("m", 1)], new Map([["m", many]]));
    expect(config?.metrics.energy_j).toMatchObject({ n: 200_000, min: 1, max: 200_000 });
    const [none] = aggregateConfigs([entry("n", 1)], new Map([["n", [result(null, null)]]]));
    expect(none?.energy_basis).toBeNull();
  });
});
