import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type ExperimentConfig,
  type ExperimentConfigInput,
  type ExperimentResult,
  LlemError,
  parseExperimentConfig,
} from "@llem/schema";
import { abortedError, throwIfAborted } from "../aborted.js";
import type { BaselineCache, IdleBaseline } from "../energy/baseline.js";
import { measureIdleBaseline } from "../energy/baseline.js";
import { createSampler, type SamplerOptions } from "../energy/select.js";
import type { EnergyMeasurement, EnergySampler } from "../energy/types.js";
import { requireEngine } from "../engines/registry.js";
import type {
  Engine,
  EngineDefinition,
  RequestMeasurement,
  ServerReuse,
} from "../engines/types.js";
import { placeExperiment } from "../gpus/place.js";
import type { GpuPlacement } from "../gpus/resolve.js";
import { REQUESTS_FILE_NAME, writeRequestsFile } from "../load/requests-file.js";
import { writeTimeseriesCsv } from "../metrics/timeseries-csv.js";
import { loadPrompts } from "../prompts/load-prompts.js";
import { withProcessesCpuTime } from "../servers/process-cpu.js";
import { assembleResult, type MeasuredExperiment } from "./assemble-result.js";
import { checkWindowRequests } from "./check-requests.js";
import { describeEnvironment } from "./environment.js";
import { runWarmup } from "./warmup.js";

export type ExperimentStage =
  | "prepare"
  | "baseline"
  | "warmup"
  | "thermal_floor"
  | "window"
  | "teardown";

export interface ExperimentProgress {
  stage: ExperimentStage;
  message: string;
  /** Requests done so far in this stage, where it counts requests. */
  completed?: number;
  total?: number;
}

export interface RunExperimentOptions {
  signal?: AbortSignal;
  onProgress?: (progress: ExperimentProgress) => void;
  /** Idle baselines shared across a study (strategy cached); without it each experiment measures its own. */
  baselineCache?: BaselineCache;
  /** Directory the experiment's files go to (the engine's too); `timeseries.csv` is written there. */
  outputDir?: string;
  /** Write `timeseries.csv` into `outputDir` when the sampler has samples (default true). */
  saveTimeseries?: boolean;
  /** Synthetic model cache (LLEM_CACHE_DIR by default). */
  cacheDir?: string;
  /** Relative model and dataset paths are resolved against this (the config file's directory). */
  baseDir?: string;
  /** reuse_servers: the shared server this run may take over and leave for the next. */
  serverReuse?: ServerReuse;
  /** Passed to the energy sampler (powercap root, NVML backend…); tests inject recorded sources. */
  samplerOptions?: SamplerOptions;
  /**
   * The experiment's GPUs, when the process that started this one placed it (the study runner
   * does, to set the process's CUDA_VISIBLE_DEVICES); null for none. Absent: `config.gpus` is
   * resolved here against this process's environment.
   */
  gpuPlacement?: GpuPlacement | null;
  /**
   * Builds the engine instead of the registry's `create` (tests wrap or replace an engine here);
   * the registry entry still supplies the engine's warnings and version.
   */
  createEngine?: (config: ExperimentConfig) => Engine;
}

/**
 * Runs one experiment: prepare → idle baseline → warmup → thermal floor → measurement window →
 * teardown, and returns its validated result. Abortable at every stage through `signal`
 * (EXPERIMENT_ABORTED); the engine is disposed on every path.
 */
export async function runExperiment(
  input: ExperimentConfig | ExperimentConfigInput,
  options: RunExperimentOptions = {},
): Promise<ExperimentResult> {
  const config = parseExperimentConfig(input);
  const { signal } = options;
  const report = (progress: ExperimentProgress): void => options.onProgress?.(progress);
  const startedAt = new Date().toISOString();
  throwIfAborted(signal, "prepare");
  const definition = requireEngine(config.engine);

  // Prompts first: a bad dataset fails in milliseconds, before a model is loaded.
  const prompts = await loadPrompts(config.task.dataset, config.task.random_seed, options.baseDir);
  const placement =
    options.gpuPlacement !== undefined
      ? options.gpuPlacement
      : await placeExperiment(config, process.env, {
          ...(options.samplerOptions?.nvml ? { nvml: options.samplerOptions.nvml } : {}),
        });
  // NVML measures exactly the placed GPUs; without a placement (no NVML here) it reports why.
  const samplerOptions: SamplerOptions = {
    ...options.samplerOptions,
    ...(placement ? { gpus: placement.gpus } : {}),
  };
  const engine = await createEngine(definition, config, options, placement);
  try {
    report({ stage: "prepare", message: `loading ${config.task.model}` });
    const model = await engine.prepare({ signal });
    throwIfAborted(signal, "prepare");

    const chosen = await createSampler(
      config.measurement.energy,
      samplerOptionsFor(engine, samplerOptions),
    );
    const { sampler, reason } = chosen;
    report({ stage: "baseline", message: `energy sampler ${sampler.kind} (${reason})` });
    const baseline = await idleBaseline(config, chosen, samplerOptions, options);
    throwIfAborted(signal, "baseline");

    const warmup = await runWarmup(engine, config, prompts.prompts, signal, (completed, total) =>
      report({ stage: "warmup", message: `warmup request ${completed}`, completed, total }),
    );
    await thermalFloor(config, signal, report);

    const { requests, energy, window } = await measurementWindow(
      engine,
      sampler,
      prompts.prompts,
      signal,
      report,
    );

    // Every request's line is on disk before anything can fail the run over them.
    const requestsFile = await saveRequests(requests, options.outputDir);
    checkWindowRequests(config, engine, requests, requestsFile);

    report({ stage: "teardown", message: "releasing the model" });
    const settings = engine.resolvedSettings();
    const versions = engine.versions();
    const peakRssBytes = process.resourceUsage().maxRSS * 1024;
    await engine.dispose({ measured: true });

    let timeseriesFile: string | null = null;
    if (options.outputDir && options.saveTimeseries !== false && energy.samples.length > 0) {
      await writeTimeseriesCsv(join(options.outputDir, "timeseries.csv"), energy.samples);
      timeseriesFile = "timeseries.csv";
    }
    return assembleResult({
      config,
      definition,
      model,
      startedAt,
      window,
      prompts,
      requests,
      energy,
      samplerReason: reason,
      notCovered: chosen.notCovered,
      placement,
      baseline,
      warmup,
      settings,
      versions,
      peakRssBytes,
      environment: await describeEnvironment(versions),
      timeseriesFile,
      requestsFile,
    });
  } catch (error) {
    if (signal?.aborted && !LlemError.hasCode(error, "EXPERIMENT_ABORTED"))
      throw new LlemError("EXPERIMENT_ABORTED", "experiment aborted", { cause: error });
    throw error;
  } finally {
    await engine.dispose();
  }
}

/**
 * The sampler's options: an engine whose work runs in other processes here (a local server) has
 * their CPU time counted by the estimate sampler too, unless a test injected its own source.
 */
function samplerOptionsFor(
  engine: Engine,
  given: SamplerOptions | undefined,
): SamplerOptions | undefined {
  const pids = engine.workProcesses?.() ?? [];
  if (pids.length === 0 || given?.cpuTimeUs) return given;
  return { ...given, cpuTimeUs: withProcessesCpuTime(pids) };
}

/** Writes `requests.jsonl` when the engine keeps a line per request (server engines). */
async function saveRequests(
  requests: readonly RequestMeasurement[],
  outputDir: string | undefined,
): Promise<string | null> {
  if (!outputDir || requests.length === 0) return null;
  const records = requests.flatMap((request) => (request.record ? [request.record] : []));
  if (records.length !== requests.length) return null;
  await writeRequestsFile(join(outputDir, REQUESTS_FILE_NAME), records);
  return REQUESTS_FILE_NAME;
}

function createEngine(
  definition: EngineDefinition,
  config: ExperimentConfig,
  options: RunExperimentOptions,
  placement: GpuPlacement | null,
): Promise<Engine> {
  if (options.createEngine) return Promise.resolve(options.createEngine(config));
  return definition.create(config, {
    ...(placement ? { gpus: placement.assignment } : {}),
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
    ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }),
    ...(options.outputDir === undefined ? {} : { outputDir: options.outputDir }),
    ...(options.serverReuse === undefined ? {} : { serverReuse: options.serverReuse }),
  });
}

/**
 * The idle baseline of exactly what the window measures (same samplers, same devices: one per
 * GPU set): measured now, or taken from the study's cache under that key (strategy cached).
 */
async function idleBaseline(
  config: ExperimentConfig,
  chosen: { sampler: EnergySampler; key: string },
  samplerOptions: SamplerOptions,
  options: RunExperimentOptions,
): Promise<{ baseline: IdleBaseline; source: "cached" | "fresh" } | null> {
  const settings = config.measurement.baseline;
  if (!settings.enabled || chosen.sampler.method === "none") return null;
  const measure = (): Promise<IdleBaseline | null> =>
    measureIdleBaseline({
      energyConfig: config.measurement.energy,
      samplerOptions,
      key: chosen.key,
      duration_s: settings.duration_seconds,
      signal: options.signal,
    });
  if (settings.strategy === "cached" && options.baselineCache)
    return options.baselineCache.getOrMeasure(chosen.key, measure);
  const fresh = await measure();
  return fresh ? { baseline: fresh, source: "fresh" } : null;
}

/** A pause after warmup so the device settles before the window (`thermal_floor_seconds`). */
async function thermalFloor(
  config: ExperimentConfig,
  signal: AbortSignal | undefined,
  report: (progress: ExperimentProgress) => void,
): Promise<void> {
  const floor = config.measurement.thermal_floor_seconds;
  if (floor <= 0) return;
  report({ stage: "thermal_floor", message: `waiting ${floor} s for the device to settle` });
  await sleep(floor * 1000, undefined, { signal }).catch(() => {
    throw abortedError(signal, "thermal_floor");
  });
}

/** The measurement window: only the measured workload runs between the sampler's start and stop. */
async function measurementWindow(
  engine: Engine,
  sampler: EnergySampler,
  prompts: readonly string[],
  signal: AbortSignal | undefined,
  report: (progress: ExperimentProgress) => void,
): Promise<{
  requests: RequestMeasurement[];
  energy: EnergyMeasurement;
  window: MeasuredExperiment["window"];
}> {
  const total = prompts.length;
  report({ stage: "window", message: `running ${total} prompts`, completed: 0, total });
  // Sampler work that must stay out of the window (the NVML counter's update period) first.
  await sampler.prepare?.();
  const startedAt = new Date().toISOString();
  await sampler.start();
  const start = performance.now();
  // The wall-clock instant of `start`, so offsets inside the window (the steady state) can be dated.
  const startEpochMs = Date.now();
  let requests: RequestMeasurement[];
  let energy: EnergyMeasurement;
  try {
    requests = await engine.run(prompts, {
      signal,
      windowStart: start,
      onRequest: (_measurement, completed) =>
        report({ stage: "window", message: `request ${completed}`, completed, total }),
    });
  } finally {
    energy = await sampler.stop();
  }
  const durationS = (performance.now() - start) / 1000;
  return {
    requests,
    energy,
    window: { startedAt, endedAt: new Date().toISOString(), durationS, startEpochMs },
  };
}
