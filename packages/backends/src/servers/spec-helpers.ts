import type { ExperimentConfig, ServerLaunch } from "@llem/schema";
import type { EngineRateEstimate } from "../engines/types.js";

/** Most requests the workload has in flight at once: the slots a server needs for it. */
export function requestsInFlight(config: ExperimentConfig): number {
  const { workload, task } = config;
  if (workload.mode !== "rate") return workload.concurrency;
  // An open loop without a cap: as many as may pile up, bounded by the prompts and a sane default.
  return workload.max_concurrency ?? Math.min(task.dataset.n_prompts, 16);
}

/** Summary parts every launched server shares: how it runs when not as a local process. */
export function launchParts(section: ServerLaunch): string[] {
  return section.runner === "local" ? [] : [`runner=${section.runner}`];
}

/** Dotted keys the launch parts show, for an engine's `summary.shows`. */
export function launchShows(engine: string): string[] {
  return [`${engine}.runner`];
}

/**
 * A GPU server's typical output rate for `--dry-run` durations, before anything is measured: a
 * flat decode rate per request in flight. Crude (no model size or GPU is known), and labelled so.
 */
export function typicalGpuRate(engine: string, config: ExperimentConfig): EngineRateEstimate {
  const perSequence = 50;
  return {
    outputTokensPerS: perSequence * requestsInFlight(config),
    basis: `${engine}: ${perSequence} output tok/s per request in flight (a typical GPU decode rate; nothing about the model or GPU is known before the run)`,
  };
}
