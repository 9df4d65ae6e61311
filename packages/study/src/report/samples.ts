/**
 * Step 3 of a report: the per-sample views, for a few chosen configs only (a report never carries
 * every sample of a 56,832-run study). Chosen: the configs on the energy/throughput Pareto front
 * first, then the others in manifest order, up to a limit. For each:
 *
 * - a latency distribution (TTFT, ITL, end-to-end): from the runs' `requests.jsonl` where the
 *   engine wrote one (every request of every cycle), else from result.json's percentiles
 *   (min, p50, p95, p99, max, averaged over cycles);
 * - one power trace (its first completed cycle with a `timeseries.csv`), downsampled.
 */
import { basename, join } from "node:path";
import type { LatencyDistribution, LatencyKind, PowerTrace, StudyReport } from "./model.js";
import type { StudyFiles } from "./read-study.js";
import { type RequestSamples, readRequests, readTimeseries } from "./series-files.js";
import { cumulative, downsample, paretoFront, round } from "./stats.js";

export interface SampleLimits {
  /** Configs whose latency distributions are shown (default 12). */
  latencyConfigs?: number;
  /** Power traces shown (default 8). */
  powerTraces?: number;
  /** Points per device and trace (default 600). */
  powerPoints?: number;
}

const KINDS: LatencyKind[] = ["ttft", "itl", "e2e"];
const FRACTIONS = [0, 0.5, 0.95, 0.99, 1];

/** Config indices in the order they are chosen for the sample views. */
export function chooseConfigs(study: StudyReport): number[] {
  const xs: number[] = [];
  const ys: number[] = [];
  const ids: number[] = [];
  study.configs.forEach((config, index) => {
    const x = config.metrics.output_tokens_per_s?.mean;
    const y = config.metrics.energy_per_output_token_j?.mean;
    if (x !== undefined && y !== undefined) {
      xs.push(x);
      ys.push(y);
      ids.push(index);
    }
  });
  const front = paretoFront(xs, ys, "higher").map((index) => ids[index] as number);
  const rest = study.configs.map((_, index) => index).filter((index) => !front.includes(index));
  return [...front, ...rest].filter((index) => (study.configs[index]?.cyclesCompleted ?? 0) > 0);
}

async function latencyOf(files: StudyFiles, study: StudyReport, config: number) {
  const runs = files.runs.get(study.configs[config]?.hash ?? "") ?? [];
  const samples: RequestSamples = { ttft: [], e2e: [], itl: [], errors: 0 };
  let found = false;
  for (const run of runs) {
    if (await readRequests(join(run.experimentDir, "requests.jsonl"), samples)) found = true;
  }
  const out: LatencyDistribution[] = [];
  for (const kind of KINDS) {
    if (found) {
      const values = samples[kind];
      if (values.length === 0) continue;
      const { ms, fraction } = cumulative(values);
      out.push({
        config,
        kind,
        source: "requests",
        ms: ms.map((v) => round(v)),
        fraction,
        samples: values.length,
        errors: samples.errors,
      });
      continue;
    }
    const ladders = runs.flatMap((run) =>
      run.facts.latency[kind] ? [run.facts.latency[kind]] : [],
    );
    if (ladders.length === 0) continue;
    const ms = FRACTIONS.map((_, step) =>
      round(ladders.reduce((sum, ladder) => sum + (ladder[step] as number), 0) / ladders.length),
    );
    out.push({
      config,
      kind,
      source: "percentiles",
      ms,
      fraction: FRACTIONS,
      samples: ladders.length,
      errors: 0,
    });
  }
  return out;
}

async function powerOf(files: StudyFiles, study: StudyReport, config: number, points: number) {
  const runs = files.runs.get(study.configs[config]?.hash ?? "") ?? [];
  for (const run of runs) {
    if (!run.facts.timeseriesFile) continue;
    const devices = await readTimeseries(join(run.experimentDir, run.facts.timeseriesFile));
    if (!devices) continue;
    let inFile = 0;
    let shown = 0;
    const kept = devices.map((device) => {
      const thin = downsample(device.tMs, device.watts, points);
      inFile += device.tMs.length;
      shown += thin.xs.length;
      return {
        device: device.device,
        tMs: thin.xs.map((v) => round(v)),
        watts: thin.ys.map((v) => round(v)),
      };
    });
    const trace: PowerTrace = {
      config,
      cycle: run.cycle,
      experiment: basename(run.experimentDir),
      windowMs: run.facts.windowS === null ? null : round(run.facts.windowS * 1000),
      baselineW: run.facts.baselineW,
      method: run.facts.method,
      devices: kept,
      samplesInFile: inFile,
      samplesShown: shown,
    };
    return trace;
  }
  return undefined;
}

/** Fills `study.latency` and `study.power` (see the file comment). */
export async function loadSamples(
  files: StudyFiles,
  study: StudyReport,
  limits: SampleLimits = {},
) {
  const chosen = chooseConfigs(study);
  for (const config of chosen.slice(0, limits.latencyConfigs ?? 12)) {
    study.latency.push(...(await latencyOf(files, study, config)));
  }
  const traces = limits.powerTraces ?? 8;
  for (const config of chosen) {
    if (study.power.length >= traces) break;
    const trace = await powerOf(files, study, config, limits.powerPoints ?? 600);
    if (trace) study.power.push(trace);
  }
}
