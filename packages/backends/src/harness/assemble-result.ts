import { configHash, type ExperimentConfig, ExperimentResult, LlemError } from "@llem/schema";
import type { IdleBaseline } from "../energy/baseline.js";
import type { EnergyMeasurement } from "../energy/types.js";
import type { EngineDefinition, PreparedModel, RequestMeasurement } from "../engines/types.js";
import type { GpuPlacement } from "../gpus/resolve.js";
import { consistencyChecks, energyPer, meanPower, type ResultWarning } from "../metrics/energy.js";
import { componentSection, type SteadyStateSpan } from "../metrics/energy-section.js";
import { summarize } from "../metrics/stats.js";
import { measurementWarnings } from "../metrics/warnings.js";
import type { PromptSelection } from "../prompts/load-prompts.js";
import type { EnvironmentSnapshot } from "./environment.js";
import {
  goodput,
  offeredConcurrency,
  requestErrors,
  succeeded,
  tpotMs,
} from "./request-figures.js";
import { STEADY_STATE_DEFINITION, type SteadySpan, steadyStateSpan } from "./steady-state.js";
import type { WarmupRecord } from "./warmup.js";

const FLOPS_METHOD = "2 × parameters × (input + output tokens)";

/** Everything one experiment measured, as the stages of `runExperiment` collected it. */
export interface MeasuredExperiment {
  config: ExperimentConfig;
  definition: EngineDefinition;
  model: PreparedModel;
  /** ISO-8601, before the model was loaded. */
  startedAt: string;
  /**
   * The measurement window. `startEpochMs` is the wall-clock instant of the window's monotonic
   * start, from which request timelines (and the steady state) are measured.
   */
  window: { startedAt: string; endedAt: string; durationS: number; startEpochMs?: number };
  prompts: PromptSelection;
  requests: RequestMeasurement[];
  energy: EnergyMeasurement;
  /** Why these samplers (createSampler's reason). */
  samplerReason: string;
  /** Components left out of the total, with why (createSampler's notCovered). */
  notCovered?: readonly string[];
  /** The GPUs the experiment was placed on; null for none (a CPU run). */
  placement?: GpuPlacement | null;
  /** The steady-state span of the window, where the engine found one. */
  steadyState?: SteadyStateSpan | null;
  baseline: { baseline: IdleBaseline; source: "cached" | "fresh" } | null;
  warmup: WarmupRecord;
  /** `Engine.resolvedSettings()` and `Engine.versions()` of the engine that ran. */
  settings: Record<string, unknown>;
  versions: Record<string, string>;
  peakRssBytes: number;
  environment: EnvironmentSnapshot;
  timeseriesFile: string | null;
  /** `requests.jsonl` when the engine kept a line per request. */
  requestsFile?: string | null;
}

/**
 * Turns one experiment's measurements into its validated `result.json`: token counts,
 * throughput, latency percentiles, energy raw and idle-adjusted with every derived figure, and
 * the warnings — the engine's own, the measurement's, and last the consistency check of what
 * the assembled result reports.
 */
export function assembleResult(measured: MeasuredExperiment): ExperimentResult {
  const { config, requests, energy, window } = measured;
  const inputTokens = requests.reduce((sum, request) => sum + request.inputTokens, 0);
  const outputTokens = requests.reduce((sum, request) => sum + request.outputTokens, 0);
  // Energy figures are over the sampler's own window (start() to stop()).
  const energyWindowS = energy.duration_s > 0 ? energy.duration_s : window.durationS;
  // The steady state: the one given, else the span the request timelines show (server engines).
  const steady = steadyStateOf(measured);
  const section = componentSection({
    energy,
    baseline: measured.baseline?.baseline ?? null,
    windowS: energyWindowS,
    notCovered: measured.notCovered ?? [],
    steadyState: measured.steadyState ?? steady.span,
  });
  const rawJ = section.rawJ;
  const adjustedJ = section.adjustedJ;
  const basisJ = adjustedJ ?? rawJ;
  // Latency figures are over the requests that succeeded; failed ones are counted in `errors`.
  const ok = requests.filter(succeeded);
  const itl = summarize(ok.flatMap((request) => request.itlMs));
  const perSecond = (count: number) => (window.durationS > 0 ? count / window.durationS : 0);
  const flopsTotal =
    measured.model.parameters === null
      ? null
      : 2 * measured.model.parameters * (inputTokens + outputTokens);

  const warnings = [
    ...workloadWarnings(measured),
    ...(steady.warning ? [steady.warning] : []),
    ...measured.definition.resultWarnings({
      config,
      settings: measured.settings,
      requests,
      itlP50Ms: itl?.p50 ?? null,
    }),
    ...measurementWarnings({
      window_s: window.durationS,
      sample_count: energy.sample_count,
      method: energy.method,
      sampler: energy.sampler,
      temperatures: energy.temperatures,
      sampler_warnings: energy.warnings,
    }),
  ];
  for (const note of measured.placement?.warnings ?? []) {
    warnings.push({ code: "gpu_placement", message: note });
  }
  // The baseline's sampler notes usually repeat the window's; say each thing once.
  for (const note of measured.baseline?.baseline.warnings ?? []) {
    if (!warnings.some((warning) => warning.message === note)) {
      warnings.push({ code: "baseline", message: note });
    }
  }

  const result = {
    schema_version: "1.0" as const,
    config_hash: configHash(config),
    config,
    engine: measured.definition.name,
    engine_version: measured.definition.version(measured.versions),
    engine_settings: measured.settings,
    model: {
      name: measured.model.name,
      path: measured.model.path,
      parameters: measured.model.parameters,
      file_size_bytes: measured.model.fileSizeBytes,
      weight_type: measured.model.weightType,
    },
    started_at: measured.startedAt,
    ended_at: new Date().toISOString(),
    window: {
      started_at: window.startedAt,
      ended_at: window.endedAt,
      duration_s: window.durationS,
    },
    tokens: {
      input: inputTokens,
      output: outputTokens,
      total: inputTokens + outputTokens,
      requests: requests.length,
    },
    throughput: {
      output_tokens_per_s: perSecond(outputTokens),
      total_tokens_per_s: perSecond(inputTokens + outputTokens),
      requests_per_s: perSecond(requests.length),
    },
    latency: {
      ttft_ms: summarize(
        ok.flatMap((request) => (request.ttftMs === null ? [] : [request.ttftMs])),
      ),
      itl_ms: itl,
      request_latency_ms: summarize(ok.map((request) => request.latencyMs)),
      tpot_ms: summarize(ok.flatMap((request) => tpotMs(request) ?? [])),
      ...(requests.some((request) => request.timeline)
        ? {
            send_lag_ms: summarize(
              requests.flatMap((request) =>
                request.timeline ? [request.timeline.sentMs - request.timeline.scheduledMs] : [],
              ),
            ),
          }
        : {}),
    },
    ...optional("errors", requestErrors(requests)),
    goodput: goodput(config, requests, window.durationS),
    steady_state: steady.section,
    requests_file: measured.requestsFile ?? null,
    gpus: measured.placement
      ? {
          description: measured.placement.description,
          devices: measured.placement.assignment.devices,
          cuda_visible_devices: measured.placement.assignment.cudaVisibleDevices,
          measured: measured.placement.gpus.map((gpu) => `gpu${gpu.index}`),
        }
      : null,
    energy: {
      sampler: energy.sampler,
      samplers: energy.samplers ?? (energy.sampler === "combined" ? [] : [energy.sampler]),
      method: energy.method,
      selection_reason: measured.samplerReason,
      raw_j: rawJ,
      adjusted_j: adjustedJ,
      headline: section.headline,
      energy_per_output_token_j: energyPer(basisJ, outputTokens),
      energy_per_output_token_raw_j: energyPer(rawJ, outputTokens),
      energy_per_output_token_adjusted_j: energyPer(adjustedJ, outputTokens),
      energy_per_request_j: energyPer(basisJ, requests.length),
      mean_power_w: meanPower(rawJ, energyWindowS),
      baseline: measured.baseline
        ? { ...measured.baseline.baseline, source: measured.baseline.source }
        : null,
      sample_interval_ms: energy.sample_interval_ms,
      sample_count: energy.sample_count,
      duration_s: energy.duration_s,
      components: section.components,
      total: section.total,
      by_component: section.byComponent,
      steady_state: section.steadyState,
      per_device: energy.per_device.flatMap(({ cumulative: _series, gpu: _gpu, ...device }) =>
        device.energy_j === null ? [] : [{ ...device, energy_j: device.energy_j }],
      ),
      estimate_inputs: energy.estimate_inputs,
    },
    warmup: {
      enabled: config.measurement.warmup.enabled,
      mode: config.measurement.warmup.mode,
      prompts: measured.warmup.prompts,
      converged: measured.warmup.converged,
      final_cv: measured.warmup.finalCv,
      latencies_ms: measured.warmup.latenciesMs,
      thermal_floor_s: config.measurement.thermal_floor_seconds,
    },
    flops: {
      total: flopsTotal,
      per_output_token:
        flopsTotal === null || outputTokens === 0 ? null : flopsTotal / outputTokens,
      method: FLOPS_METHOD,
    },
    memory: { peak_rss_bytes: measured.peakRssBytes, model_bytes: measured.model.modelBytes },
    environment: measured.environment,
    warnings,
    timeseries_file: measured.timeseriesFile,
  };
  // Last: the check reads the figures exactly as the result reports them.
  warnings.push(...consistencyChecks(result));
  const parsed = ExperimentResult.safeParse(result);
  if (!parsed.success) {
    throw new LlemError(
      "INTERNAL",
      `the experiment's result does not match the ExperimentResult schema: ${parsed.error.message}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

function optional<Key extends string, Value>(key: Key, value: Value | null) {
  return (value === null ? {} : { [key]: value }) as Partial<Record<Key, Value>>;
}

/**
 * The steady state's section, or null with a warning saying why (only where the engine reports
 * request timelines: for the others there is nothing to say), and the span in ms from the
 * window's start, over which the energy section reports the steady state's energy.
 */
function steadyStateOf(measured: MeasuredExperiment): {
  section: Record<string, unknown> | null;
  warning: ResultWarning | null;
  span: SteadyStateSpan | null;
} {
  const { requests, window } = measured;
  if (!requests.some((request) => request.timeline))
    return { section: null, warning: null, span: null };
  const offered = offeredConcurrency(measured.config, measured.settings, requests.length);
  const span = steadyStateSpan(requests, offered);
  if ("reason" in span) {
    return {
      section: null,
      warning: { code: "no_steady_state", message: `no steady state: ${span.reason}` },
      span: null,
    };
  }
  return {
    section: steadySection(span, window.startEpochMs ?? Date.parse(window.startedAt)),
    warning: null,
    // Tokens inside the span are prorated per chunk; the energy section counts whole tokens.
    span: { fromMs: span.startMs, toMs: span.endMs, outputTokens: Math.round(span.outputTokens) },
  };
}

function steadySection(span: SteadySpan, startEpochMs: number) {
  const durationS = (span.endMs - span.startMs) / 1000;
  return {
    definition: STEADY_STATE_DEFINITION,
    offered_concurrency: span.offeredConcurrency,
    started_at: new Date(startEpochMs + span.startMs).toISOString(),
    ended_at: new Date(startEpochMs + span.endMs).toISOString(),
    start_s: span.startMs / 1000,
    end_s: span.endMs / 1000,
    duration_s: durationS,
    requests: span.requests,
    output_tokens: span.outputTokens,
    output_tokens_per_s: durationS > 0 ? span.outputTokens / durationS : 0,
  };
}

/** Notes on the prompts and the warmup that qualify every figure of the window. */
function workloadWarnings({ config, prompts, requests, warmup }: MeasuredExperiment) {
  const warnings: ResultWarning[] = [];
  if (prompts.repeated) {
    warnings.push({
      code: "prompts_repeated",
      message: `${prompts.source} holds ${prompts.available} prompts; they were cycled to reach n_prompts ${config.task.dataset.n_prompts}`,
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
  return warnings;
}
