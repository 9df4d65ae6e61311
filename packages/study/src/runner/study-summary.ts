import { llemVersion } from "@llem/backends";
import type { ManifestStore } from "@llem/manifest";
import type { ExperimentResult, StudyResult } from "@llem/schema";
import { aggregateConfigs, readCompletedResults } from "../aggregate.js";
import type { LoadedStudy, StudyOutcomeStatus } from "../types.js";
import { totalRuns } from "./schedule.js";

/**
 * `study_summary.json` of a study as its manifest stands: counts, per-config aggregates over the
 * completed cycles, failures and skipped configs, and the study's energy — raw (every completed
 * run) and idle-adjusted (the runs that had a baseline), each labelled, with the methods behind
 * them. `known` holds results already in memory, so only the others are read from disk.
 */
export async function buildSummary(
  loaded: LoadedStudy,
  store: ManifestStore,
  studyDir: string,
  status: StudyOutcomeStatus,
  startedAtMs: number,
  known: ReadonlyMap<string, ExperimentResult>,
): Promise<StudyResult> {
  const manifest = store.manifest;
  const entries = manifest.experiments;
  const results = await readCompletedResults(studyDir, entries, known);
  const configs = aggregateConfigs(entries, results);
  const counts = store.counts;
  let rawJ: number | null = null;
  let adjustedJ: number | null = null;
  const methods = new Set<ExperimentResult["energy"]["method"]>();
  for (const list of results.values()) {
    for (const result of list) {
      if (result.energy.raw_j !== null) {
        rawJ = (rawJ ?? 0) + result.energy.raw_j;
        methods.add(result.energy.method);
      }
      if (result.energy.adjusted_j !== null)
        adjustedJ = (adjustedJ ?? 0) + result.energy.adjusted_j;
    }
  }
  const execution = loaded.study.study_execution;
  const endedAt = new Date();
  const startedAt = manifest.started_at || new Date(startedAtMs).toISOString();
  return {
    schema_version: "1.0",
    study_name: manifest.study_name,
    study_design_hash: loaded.designHash,
    study_yaml_hash: loaded.yamlHash,
    llem_version: llemVersion(),
    status,
    started_at: manifest.started_at,
    ended_at: endedAt.toISOString(),
    total_wall_time_s: Math.max(0, (endedAt.getTime() - Date.parse(startedAt)) / 1000),
    counts: {
      unique_configs: configs.length,
      total_runs: entries.length,
      completed: counts.completed,
      failed: counts.failed,
      pending: counts.pending + counts.running,
      skipped_configs: loaded.skipped.length,
    },
    total_energy_j: rawJ,
    total_energy_raw_j: rawJ,
    total_energy_adjusted_j: adjustedJ,
    energy_methods: [...methods].sort(),
    measurement_protocol: {
      n_cycles: execution.n_cycles,
      experiment_order: execution.experiment_order,
      experiment_gap_seconds: execution.experiment_gap_seconds,
      cycle_gap_seconds: execution.cycle_gap_seconds,
      shuffle_seed: loaded.shuffleSeed,
      experiment_timeout_seconds: execution.experiment_timeout_seconds,
    },
    configs,
    failures: entries
      .filter((entry) => entry.status === "failed")
      .map((entry) => ({
        config_hash: entry.config_hash,
        config_summary: entry.config_summary,
        cycle: entry.cycle,
        error_type: entry.error_type ?? null,
        error_message: entry.error_message ?? null,
      })),
    skipped: loaded.skipped.map((item) => ({ config_summary: item.summary, reason: item.reason })),
  };
}

/** How a study ended, from its manifest's counts. */
export function finalStatus(store: ManifestStore, interrupted: boolean): StudyOutcomeStatus {
  const counts = store.counts;
  // An interrupt that arrives after the last run finished does not undo a complete study.
  if (counts.completed === totalRuns(counts)) return "completed";
  if (interrupted) return "interrupted";
  if (counts.completed === 0 && counts.failed > 0) return "failed";
  return "partial";
}
