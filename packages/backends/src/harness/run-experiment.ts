import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  configHash,
  type ExperimentConfig,
  type ExperimentConfigInput,
  ExperimentResult,
  LlemError,
  parseExperimentConfig,
} from "@llem/schema";
import type { BaselineCache, IdleBaseline } from "../energy/baseline.js";
import { measureIdleBaseline } from "../energy/baseline.js";
import { createSampler, type SamplerOptions } from "../energy/select.js";
import type { EnergyMeasurement, EnergySampler } from "../energy/types.js";
import { LlamaCppEngine } from "../engines/llamacpp/engine.js";
import type { Engine, PreparedModel, RequestMeasurement } from "../engines/types.js";
import {
  adjustedEnergy,
  consistencyChecks,
  energyPer,
  meanPower,
  type ResultWarning,
} from "../metrics/energy.js";
import { coefficientOfVariation, summarize } from "../metrics/stats.js";
import { writeTimeseriesCsv } from "../metrics/timeseries-csv.js";
import { measurementWarnings } from "../metrics/warnings.js";
import { loadPrompts } from "../prompts/load-prompts.js";
import { describeEnvironment } from "./environment.js";

/** Below this median inter-token latency the stepwise loop's per-token cost is worth a warning. */
const STEPWISE_WARNING_ITL_MS = 2;

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
  /** Directory the experiment's files go to; `timeseries.csv` is written there when samples exist. */
  outputDir?: string;
  /** Synthetic model cache (LLEM_CACHE_DIR by default). */
  cacheDir?: string;
  /** Relative model and dataset paths are resolved against this (the config file's directory). */
  baseDir?: string;
  /** Passed to the energy sampler (powercap root, NVML backend…); tests inject recorded sources. */
  samplerOptions?: SamplerOptions;
  /** Builds the engine; the embedded llamacpp engine by default. Server engines plug in here. */
  createEngine?: (config: ExperimentConfig) => Engine;
}

const FLOPS_METHOD = "2 × parameters × (input + output tokens)";

function abortedError(signal: AbortSignal | undefined, stage: ExperimentStage): LlemError {
  return new LlemError("EXPERIMENT_ABORTED", `experiment aborted during ${stage}`, {
    cause: signal?.reason,
  });
}

function throwIfAborted(signal: AbortSignal | undefined, stage: ExperimentStage): void {
  if (signal?.aborted) throw abortedError(signal, stage);
}

function defaultEngine(config: ExperimentConfig, options: RunExperimentOptions): Engine {
  if (config.engine === "llamacpp")
    return new LlamaCppEngine(config, { cacheDir: options.cacheDir, baseDir: options.baseDir });
  throw new LlemError(
    "ENGINE_UNAVAILABLE",
    `engine "${config.engine}" is not available in @llem/backends yet; use engine: llamacpp`,
    {
      details: { field: "engine", value: config.engine },
    },
  );
}

interface WarmupRecord {
  prompts: number;
  converged: boolean | null;
  finalCv: number | null;
  latenciesMs: number[];
}

/** Fixed count, or until the CV of the last `window_size` latencies drops under the threshold. */
async function runWarmup(
  engine: Engine,
  config: ExperimentConfig,
  prompts: readonly string[],
  signal: AbortSignal | undefined,
  report: (progress: ExperimentProgress) => void,
): Promise<WarmupRecord> {
  const warmup = config.measurement.warmup;
  if (!warmup.enabled) return { prompts: 0, converged: null, finalCv: null, latenciesMs: [] };
  const latencies: number[] = [];
  const cap = warmup.mode === "fixed" ? warmup.n_warmup : warmup.max_prompts;
  let finalCv: number | null = null;
  for (let index = 0; index < cap; index++) {
    throwIfAborted(signal, "warmup");
    const measurement = await engine.warmup(prompts[index % prompts.length] as string, { signal });
    latencies.push(measurement.latencyMs);
    report({
      stage: "warmup",
      message: `warmup request ${index + 1}`,
      completed: index + 1,
      total: cap,
    });
    if (warmup.mode === "cv" && latencies.length >= warmup.window_size) {
      finalCv = coefficientOfVariation(latencies.slice(-warmup.window_size));
      if (finalCv !== null && finalCv < warmup.cv_threshold)
        return { prompts: latencies.length, converged: true, finalCv, latenciesMs: latencies };
    }
  }
  if (warmup.mode === "cv")
    return { prompts: latencies.length, converged: false, finalCv, latenciesMs: latencies };
  return { prompts: latencies.length, converged: null, finalCv: null, latenciesMs: latencies };
}

async function idleBaseline(
  config: ExperimentConfig,
  sampler: EnergySampler,
  options: RunExperimentOptions,
): Promise<{ baseline: IdleBaseline; source: "cached" | "fresh" } | null> {
  const settings = config.measurement.baseline;
  if (!settings.enabled || sampler.method === "none") return null;
  const measure = (): Promise<IdleBaseline | null> =>
    measureIdleBaseline({
      energyConfig: { ...config.measurement.energy, sampler: sampler.kind },
      samplerOptions: options.samplerOptions,
      duration_s: settings.duration_seconds,
      signal: options.signal,
    });
  if (settings.strategy === "cached" && options.baselineCache)
    return options.baselineCache.getOrMeasure(sampler.kind, measure);
  const fresh = await measure();
  return fresh ? { baseline: fresh, source: "fresh" } : null;
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

  // Prompts first: a bad dataset fails in milliseconds, before a model is loaded.
  const selection = await loadPrompts(
    config.task.dataset,
    config.task.random_seed,
    options.baseDir,
  );
  const engine = options.createEngine
    ? options.createEngine(config)
    : defaultEngine(config, options);
  const warnings: ResultWarning[] = [];
  try {
    report({ stage: "prepare", message: `loading ${config.task.model}` });
    const model: PreparedModel = await engine.prepare({ signal });
    throwIfAborted(signal, "prepare");

    const { sampler, reason } = await createSampler(
      config.measurement.energy,
      options.samplerOptions,
    );
    report({ stage: "baseline", message: `energy sampler ${sampler.kind} (${reason})` });
    const baseline = await idleBaseline(config, sampler, options);
    throwIfAborted(signal, "baseline");

    const warmup = await runWarmup(engine, config, selection.prompts, signal, report);
    const floor = config.measurement.thermal_floor_seconds;
    if (floor > 0) {
      report({ stage: "thermal_floor", message: `waiting ${floor} s for the device to settle` });
      await sleep(floor * 1000, undefined, { signal }).catch(() => {
        throw abortedError(signal, "thermal_floor");
      });
    }

    // Measurement window: only the measured workload runs between start() and stop().
    report({
      stage: "window",
      message: `running ${selection.prompts.length} prompts`,
      completed: 0,
      total: selection.prompts.length,
    });
    const windowStartedAt = new Date().toISOString();
    await sampler.start();
    const windowStart = performance.now();
    let requests: RequestMeasurement[];
    let energy: EnergyMeasurement;
    try {
      requests = await engine.run(selection.prompts, {
        signal,
        onRequest: (_measurement, completed) =>
          report({
            stage: "window",
            message: `request ${completed}`,
            completed,
            total: selection.prompts.length,
          }),
      });
    } finally {
      energy = await sampler.stop();
    }
    const windowS = (performance.now() - windowStart) / 1000;
    const windowEndedAt = new Date().toISOString();

    report({ stage: "teardown", message: "releasing the model" });
    const resolvedSettings = engine.resolvedSettings();
    const engineVersions = engine.versions();
    const peakRssBytes = process.resourceUsage().maxRSS * 1024;
    await engine.dispose();

    const inputTokens = requests.reduce((sum, request) => sum + request.inputTokens, 0);
    const outputTokens = requests.reduce((sum, request) => sum + request.outputTokens, 0);
    const rawJ = energy.energy_j;
    const idleW = baseline?.baseline.power_w ?? null;
    const energyWindowS = energy.duration_s > 0 ? energy.duration_s : windowS;
    const adjustedJ = idleW === null ? null : adjustedEnergy(rawJ, idleW, energyWindowS);
    const basisJ = adjustedJ ?? rawJ;
    const outputTokensPerS = windowS > 0 ? outputTokens / windowS : 0;
    const meanPowerW = meanPower(rawJ, energyWindowS);

    if (selection.repeated) {
      warnings.push({
        code: "prompts_repeated",
        message: `${selection.source} holds ${selection.available} prompts; they were cycled to reach n_prompts ${config.task.dataset.n_prompts}`,
      });
    }
    if (resolvedSettings.binary === "prebuilt" && Number(resolvedSettings.threads) > 1) {
      warnings.push({
        code: "prebuilt_llama_binary",
        message: `llama.cpp runs from node-llama-cpp's prebuilt binary (built without OpenMP) with ${resolvedSettings.threads} threads, which can be several times slower than llama.cpp itself; run \`pnpm --filter @llem/backends build:native\` to build it from the bundled source`,
      });
    }
    // One sequence through the stepwise loop pays two native round trips per token; next to a
    // token of a couple of milliseconds or less that is a visible share of what was measured.
    const itlSummary = summarize(requests.flatMap((request) => request.itlMs));
    const itlP50 = itlSummary?.p50 ?? null;
    if (
      resolvedSettings.evaluator === "direct decode loop" &&
      resolvedSettings.sequences === 1 &&
      itlP50 !== null &&
      itlP50 < STEPWISE_WARNING_ITL_MS
    ) {
      warnings.push({
        code: "binding_overhead",
        message: `tokens took ${itlP50.toFixed(3)} ms (median) through llem's stepwise loop, which adds two native round trips per token (about 0.08 ms on the project's 2-core VM), so throughput here is partly the binding's; \`pnpm --filter @llem/backends build:native\` gives the native generation loop, as fast as llama.cpp's own llama-bench`,
      });
    }
    if (
      typeof resolvedSettings.binary === "string" &&
      resolvedSettings.binary !== "prebuilt" &&
      Number(resolvedSettings.threads) > 1 &&
      Number(resolvedSettings.libuv_threadpool_size ?? 1) > 1
    ) {
      warnings.push({
        code: "libuv_threadpool",
        message: `llama.cpp (OpenMP build) ran with ${resolvedSettings.threads} threads in a process whose libuv thread pool has ${resolvedSettings.libuv_threadpool_size} threads, which made generation up to 1.8× slower on a 2-core machine; start the process with UV_THREADPOOL_SIZE=1 (llamaCppProcessEnv() from @llem/backends)`,
      });
    }
    const truncated = requests.filter((request) => request.truncated).length;
    if (truncated > 0) {
      warnings.push({
        code: "prompts_truncated",
        message: `${truncated} of ${requests.length} prompts were truncated to max_input_tokens ${config.task.max_input_tokens}`,
      });
    }
    if (warmup.converged === false) {
      warnings.push({
        code: "warmup_not_converged",
        message: `warmup latency CV ${warmup.finalCv?.toFixed(3) ?? "n/a"} stayed above ${config.measurement.warmup.cv_threshold} after ${warmup.prompts} prompts`,
      });
    }
    warnings.push(
      ...measurementWarnings({
        window_s: windowS,
        sample_count: energy.sample_count,
        method: energy.method,
        sampler: energy.sampler,
        temperatures: energy.temperatures,
        sampler_warnings: energy.warnings,
      }),
      ...consistencyChecks({
        energy_j: rawJ,
        mean_power_w: meanPowerW,
        window_s: energyWindowS,
        output_tokens: outputTokens,
        energy_per_output_token_j: energyPer(rawJ, outputTokens),
        output_tokens_per_s: outputTokensPerS,
      }),
    );
    // The baseline's sampler notes usually repeat the window's; say each thing once.
    for (const note of baseline?.baseline.warnings ?? []) {
      if (!warnings.some((warning) => warning.message === note)) {
        warnings.push({ code: "baseline", message: note });
      }
    }

    let timeseriesFile: string | null = null;
    if (options.outputDir && energy.samples.length > 0) {
      await writeTimeseriesCsv(join(options.outputDir, "timeseries.csv"), energy.samples);
      timeseriesFile = "timeseries.csv";
    }

    const latency = (values: number[]) => summarize(values);
    const flopsTotal =
      model.parameters === null ? null : 2 * model.parameters * (inputTokens + outputTokens);
    const result = {
      schema_version: "1.0" as const,
      config_hash: configHash(config),
      config,
      engine: engine.name,
      engine_version: engineVersions["node-llama-cpp"] ?? null,
      engine_settings: resolvedSettings,
      model: {
        name: model.name,
        path: model.path,
        parameters: model.parameters,
        file_size_bytes: model.fileSizeBytes,
        weight_type: model.weightType,
      },
      started_at: startedAt,
      ended_at: new Date().toISOString(),
      window: { started_at: windowStartedAt, ended_at: windowEndedAt, duration_s: windowS },
      tokens: {
        input: inputTokens,
        output: outputTokens,
        total: inputTokens + outputTokens,
        requests: requests.length,
      },
      throughput: {
        output_tokens_per_s: outputTokensPerS,
        total_tokens_per_s: windowS > 0 ? (inputTokens + outputTokens) / windowS : 0,
        requests_per_s: windowS > 0 ? requests.length / windowS : 0,
      },
      latency: {
        ttft_ms: latency(
          requests.flatMap((request) => (request.ttftMs === null ? [] : [request.ttftMs])),
        ),
        itl_ms: itlSummary,
        request_latency_ms: latency(requests.map((request) => request.latencyMs)),
      },
      energy: {
        sampler: energy.sampler,
        method: energy.method,
        selection_reason: reason,
        raw_j: rawJ,
        adjusted_j: adjustedJ,
        energy_per_output_token_j: energyPer(basisJ, outputTokens),
        energy_per_request_j: energyPer(basisJ, requests.length),
        mean_power_w: meanPowerW,
        baseline: baseline ? { ...baseline.baseline, source: baseline.source } : null,
        sample_interval_ms: energy.sample_interval_ms,
        sample_count: energy.sample_count,
        duration_s: energy.duration_s,
        per_device: energy.per_device.flatMap((device) =>
          device.energy_j === null ? [] : [{ ...device, energy_j: device.energy_j }],
        ),
        estimate_inputs: energy.estimate_inputs,
      },
      warmup: {
        enabled: config.measurement.warmup.enabled,
        mode: config.measurement.warmup.mode,
        prompts: warmup.prompts,
        converged: warmup.converged,
        final_cv: warmup.finalCv,
        latencies_ms: warmup.latenciesMs,
        thermal_floor_s: floor,
      },
      flops: {
        total: flopsTotal,
        per_output_token:
          flopsTotal === null || outputTokens === 0 ? null : flopsTotal / outputTokens,
        method: FLOPS_METHOD,
      },
      memory: { peak_rss_bytes: peakRssBytes, model_bytes: model.modelBytes },
      environment: await describeEnvironment(engineVersions),
      warnings,
      timeseries_file: timeseriesFile,
    };
    const parsed = ExperimentResult.safeParse(result);
    if (!parsed.success) {
      throw new LlemError(
        "INTERNAL",
        `the experiment's result does not match the ExperimentResult schema: ${parsed.error.message}`,
        { cause: parsed.error },
      );
    }
    return parsed.data;
  } catch (error) {
    if (signal?.aborted && !LlemError.hasCode(error, "EXPERIMENT_ABORTED"))
      throw new LlemError("EXPERIMENT_ABORTED", "experiment aborted", { cause: error });
    throw error;
  } finally {
    await engine.dispose();
  }
}
