import { realpath } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import { RegularFileError, readRegularFile } from "@llem/backends/files";
import { readManifest } from "@llem/manifest";
import {
  type Aggregate,
  type ConfigAggregate,
  type EnergyBasis,
  type EnergyMethod,
  type ExperimentConfig,
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

/** The largest result.json read (64 MiB; a real one is a few KB to a few MB). */
export const MAX_RESULT_FILE_BYTES = 64 << 20;

/** A completed run whose result could not be used, and why (for `llem results` to say so). */
export interface SkippedResult {
  config_hash: string;
  cycle: number;
  result_file: string;
  reason: string;
}

/** Reads and validates one result.json; undefined when it is missing or invalid. */
export async function readResultFile(path: string): Promise<ExperimentResult | undefined> {
  return (await readResult(path)).result;
}

/** A result.json read as untrusted input: a regular file, bounded, validated. */
async function readResult(path: string): Promise<{ result?: ExperimentResult; reason?: string }> {
  let text: string;
  try {
    text = (await readRegularFile(path, { maxBytes: MAX_RESULT_FILE_BYTES })).toString("utf8");
  } catch (error) {
    return { reason: error instanceof RegularFileError ? error.reason : String(error) };
  }
  try {
    const parsed = ExperimentResultModel.safeParse(JSON.parse(text));
    return parsed.success ? { result: parsed.data } : { reason: "is not a valid result.json" };
  } catch {
    return { reason: "is not JSON" };
  }
}

/**
 * Where a manifest's `result_file` is, if it is inside the study dir: a relative path that stays
 * inside it, also after symlinks are followed. A manifest is data, not instructions: a path that
 * leads out (`../outside/result.json`, `/etc/passwd`, a symlink out) is refused, never read.
 */
export async function resultPathInside(
  studyDir: string,
  resultFile: string,
): Promise<{ path: string } | { reason: string }> {
  if (isAbsolute(resultFile) || resultFile.includes("\0")) {
    return { reason: "is not a path relative to the study dir" };
  }
  const inside = (root: string, path: string) => {
    const rel = relative(root, path);
    return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
  };
  const path = resolve(studyDir, resultFile);
  if (!inside(resolve(studyDir), path)) return { reason: "leads outside the study dir" };
  try {
    if (!inside(await realpath(studyDir), await realpath(path))) {
      return { reason: "leads outside the study dir (through a symlink)" };
    }
  } catch {
    return { reason: "does not exist" };
  }
  return { path };
}

/**
 * Results of the completed runs of a study dir, by config hash (manifest order). A completed run
 * whose result_file is outside the study dir, not a regular file, too large or invalid is left
 * out, and `onSkipped` says which and why.
 */
export async function readCompletedResults(
  studyDir: string,
  entries: readonly ManifestEntry[],
  known: ReadonlyMap<string, ExperimentResult> = new Map(),
  onSkipped?: (skipped: SkippedResult) => void,
): Promise<Map<string, ExperimentResult[]>> {
  const results = new Map<string, ExperimentResult[]>();
  for (const entry of entries) {
    if (entry.status !== "completed" || !entry.result_file) continue;
    let result = known.get(`${entry.config_hash}:${entry.cycle}`);
    if (!result) {
      const where = await resultPathInside(studyDir, entry.result_file);
      const read: { result?: ExperimentResult; reason?: string } =
        "path" in where ? await readResult(where.path) : where;
      result = read.result;
      if (!result) {
        onSkipped?.({
          config_hash: entry.config_hash,
          cycle: entry.cycle,
          result_file: entry.result_file,
          reason: read.reason ?? "could not be read",
        });
        continue;
      }
    }
    const list = results.get(entry.config_hash) ?? [];
    list.push(result);
    results.set(entry.config_hash, list);
  }
  return results;
}

/**
 * The aggregates, and each config as its results record it (by config hash; configs without a
 * usable result are absent): what a table with one column per swept field is made of.
 */
export async function readStudyResultSet(
  studyDir: string,
  options: { onSkipped?: (skipped: SkippedResult) => void } = {},
): Promise<{ aggregates: ConfigAggregate[]; configs: Map<string, ExperimentConfig> }> {
  const manifest = await readManifest(studyDir);
  const results = await readCompletedResults(
    studyDir,
    manifest.experiments,
    new Map(),
    options.onSkipped,
  );
  const configs = new Map<string, ExperimentConfig>();
  for (const [hash, list] of results) if (list[0]) configs.set(hash, list[0].config);
  return { aggregates: aggregateConfigs(manifest.experiments, results), configs };
}
