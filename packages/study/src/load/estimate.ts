/** How long a study takes, before it runs: `--dry-run`'s figure and the large-study warning. */
import { engineDefinition } from "@llem/backends";
import type { StudyConfig } from "@llem/schema";
import type { DurationEstimate, PlannedRun, StudyConfigEntry } from "../types.js";

/** A duration as a person reads it: "45 s", "12 min", "3.5 h", "4.2 days". */
export function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 2 * 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 3 * 86400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}

/** Process start, model load and result write, at least. */
const MIN_SECONDS_PER_RUN = 1;
const TYPICAL_LOAD_SECONDS = 2;

/**
 * How long a study takes: a lower bound (gaps, thermal floors, idle baselines and a per-run
 * floor) and a typical figure that adds model load and each engine's own rate estimate for the
 * workload (its registry `estimate`). Measured run times replace it once the study runs.
 */
export function estimateDuration(
  study: StudyConfig,
  configs: StudyConfigEntry[],
  runs: PlannedRun[],
  baseDir: string,
): DurationEstimate {
  const execution = study.study_execution;
  let minSeconds = 0;
  let typicalSeconds = 0;
  let cachedBaseline = 0;
  const bases = new Set<string>();
  // Every config runs once per cycle, so the per-run figures are summed per config × cycles.
  const cycles = configs.length === 0 ? 0 : runs.length / configs.length;
  for (const { config } of configs) {
    const measurement = config.measurement;
    const perRunFloor = MIN_SECONDS_PER_RUN + measurement.thermal_floor_seconds;
    let baseline = 0;
    if (measurement.baseline.enabled) {
      if (measurement.baseline.strategy === "fresh")
        baseline = measurement.baseline.duration_seconds;
      else cachedBaseline = Math.max(cachedBaseline, measurement.baseline.duration_seconds);
    }
    const warmupPrompts = measurement.warmup.enabled
      ? measurement.warmup.mode === "fixed"
        ? measurement.warmup.n_warmup
        : measurement.warmup.max_prompts
      : 0;
    const tokens = (config.task.dataset.n_prompts + warmupPrompts) * config.task.max_output_tokens;
    const rate = engineDefinition(config.engine)?.estimate(config, { baseDir });
    if (rate) bases.add(rate.basis);
    minSeconds += cycles * (perRunFloor + baseline);
    typicalSeconds +=
      cycles *
      (perRunFloor + baseline + TYPICAL_LOAD_SECONDS + (rate ? tokens / rate.outputTokensPerS : 0));
  }
  const gaps =
    Math.max(0, runs.length - 1) * execution.experiment_gap_seconds +
    Math.max(0, execution.n_cycles - 1) * execution.cycle_gap_seconds;
  minSeconds += gaps + cachedBaseline;
  typicalSeconds += gaps + cachedBaseline;
  return {
    minSeconds,
    typicalSeconds,
    basis:
      `minimum: gaps, thermal floors, idle baselines and ${MIN_SECONDS_PER_RUN} s per run; ` +
      `typical adds ${TYPICAL_LOAD_SECONDS} s model load per run and each engine's rate estimate ` +
      `(${[...bases].join("; ")}). Measured run times replace it once the study runs.`,
  };
}
