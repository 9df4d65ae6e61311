import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { readManifest } from "@llem/manifest";
import {
  type Aggregate,
  type ConfigAggregate,
  type EnergyBasis,
  type EnergyMethod,
  type ExperimentResult,
  ExperimentResult as ExperimentResultModel,
  type ManifestEntry,
} from "@llem/schema";

/** Mean, sample standard deviation (n − 1; 0 for one value), min and max; null for no values. */
export function aggregate(values: readonly number[]): Aggregate | null {
  if (values.length === 0) return null;
  const n = values.length;
  const mean = values.reduce((sum, value) => sum + value, 0) / n;
  const variance =
    n > 1 ? values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (n - 1) : 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const value of values) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return { n, mean, stddev: Math.sqrt(variance), min, max };
}

function numbers(
  results: ExperimentResult[],
  pick: (result: ExperimentResult) => number | null | undefined,
) {
  const out: number[] = [];
  for (const result of results) {
    const value = pick(result);
    if (typeof value === "number" && Number.isFinite(value)) out.push(value);
  }
  return out;
}

/**
 * The method of figures combined from several runs: estimated if any was (an average with one
 * estimate in it is an estimate), else measured if any was, else none; null for no runs.
 */
export function combinedMethod(methods: Iterable<EnergyMethod>): EnergyMethod | null {
  const seen = new Set(methods);
  if (seen.size === 0) return null;
  if (seen.has("estimated")) return "estimated";
  if (seen.has("measured")) return "measured";
  return "none";
}

/** Adjusted in every result, raw in every result, or some of each; null without energy. */
function combinedBasis(results: ExperimentResult[]): EnergyBasis | null {
  const withEnergy = results.filter((result) => result.energy.raw_j !== null);
  if (withEnergy.length === 0) return null;
  const adjusted = withEnergy.filter((result) => result.energy.adjusted_j !== null).length;
  if (adjusted === withEnergy.length) return "adjusted";
  return adjusted === 0 ? "raw" : "mixed";
}

/** Energy ÷ output tokens of one result; null without either. */
function perOutputToken(energyJ: number | null, result: ExperimentResult): number | null {
  return energyJ === null || result.tokens.output === 0 ? null : energyJ / result.tokens.output;
}

/**
 * Per-config aggregates across cycles, in manifest order of first appearance. `results` maps a
 * config hash to its completed runs' results.
 */
export function aggregateConfigs(
  entries: readonly ManifestEntry[],
  results: ReadonlyMap<string, ExperimentResult[]>,
): ConfigAggregate[] {
  const order: string[] = [];
  const byHash = new Map<string, { summary: string; completed: number; failed: number }>();
  for (const entry of entries) {
    let item = byHash.get(entry.config_hash);
    if (!item) {
      item = { summary: entry.config_summary, completed: 0, failed: 0 };
      byHash.set(entry.config_hash, item);
      order.push(entry.config_hash);
    }
    if (entry.status === "completed") item.completed++;
    if (entry.status === "failed") item.failed++;
  }
  return order.map((hash) => {
    const item = byHash.get(hash)!;
    const list = results.get(hash) ?? [];
    return {
      config_hash: hash,
      config_summary: item.summary,
      cycles_completed: item.completed,
      cycles_failed: item.failed,
      energy_method: combinedMethod(list.map((result) => result.energy.method)),
      energy_basis: combinedBasis(list),
      metrics: {
        energy_per_output_token_j: aggregate(
          numbers(list, (result) => result.energy.energy_per_output_token_j),
        ),
        energy_per_output_token_raw_j: aggregate(
          numbers(list, (result) => perOutputToken(result.energy.raw_j, result)),
        ),
        energy_per_output_token_adjusted_j: aggregate(
          numbers(list, (result) => perOutputToken(result.energy.adjusted_j, result)),
        ),
        output_tokens_per_s: aggregate(
          numbers(list, (result) => result.throughput.output_tokens_per_s),
        ),
        ttft_p50_ms: aggregate(numbers(list, (result) => result.latency.ttft_ms?.p50)),
        itl_p50_ms: aggregate(numbers(list, (result) => result.latency.itl_ms?.p50)),
        mean_power_w: aggregate(numbers(list, (result) => result.energy.mean_power_w)),
        energy_j: aggregate(numbers(list, (result) => result.energy.raw_j)),
        energy_adjusted_j: aggregate(numbers(list, (result) => result.energy.adjusted_j)),
      },
    };
  });
}

/** Reads and validates one result.json; undefined when it is missing or invalid. */
export async function readResultFile(path: string): Promise<ExperimentResult | undefined> {
  try {
    const parsed = ExperimentResultModel.safeParse(JSON.parse(await readFile(path, "utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Results of the completed runs of a study dir, by config hash (manifest order). */
export async function readCompletedResults(
  studyDir: string,
  entries: readonly ManifestEntry[],
  known: ReadonlyMap<string, ExperimentResult> = new Map(),
): Promise<Map<string, ExperimentResult[]>> {
  const results = new Map<string, ExperimentResult[]>();
  for (const entry of entries) {
    if (entry.status !== "completed" || !entry.result_file) continue;
    const result =
      known.get(`${entry.config_hash}:${entry.cycle}`) ??
      (await readResultFile(join(studyDir, entry.result_file)));
    if (!result) continue;
    const list = results.get(entry.config_hash) ?? [];
    list.push(result);
    results.set(entry.config_hash, list);
  }
  return results;
}

/** Per config, across cycles, from the study's result files (the manifest says which). */
export async function readStudyResults(studyDir: string): Promise<ConfigAggregate[]> {
  const manifest = await readManifest(studyDir);
  const results = await readCompletedResults(studyDir, manifest.experiments);
  return aggregateConfigs(manifest.experiments, results);
}
