/**
 * The few facts the report needs from one `result.json`, read defensively: the format grows
 * (per-component energy blocks, per-GPU blocks …) and a report must keep working on results
 * written by older and newer llem versions. Every field is optional here; a missing or mistyped
 * one becomes null instead of failing the whole report. The full schema check stays where results
 * are written (`ExperimentResult` in @llem/schema).
 */
import { printable } from "@llem/schema";
import type { EnergyMethodName, LatencyKind } from "./model.js";

/** min, p50, p95, p99, max (ms), as result.json's latency blocks give them. */
export type Percentiles = [number, number, number, number, number];

export interface RunFacts {
  configHash: string | null;
  energyPerOutputTokenJ: number | null;
  outputTokensPerS: number | null;
  ttftP50Ms: number | null;
  itlP50Ms: number | null;
  meanPowerW: number | null;
  energyJ: number | null;
  method: EnergyMethodName | null;
  sampler: string | null;
  selectionReason: string | null;
  formula: string | null;
  components: Array<{ component: string; method: string }>;
  latency: Record<LatencyKind, Percentiles | null>;
  warnings: Array<{ code: string; message: string }>;
  windowS: number | null;
  timeseriesFile: string | null;
  baselineW: number | null;
  /** The experiment config as written (kept once per config for the axes). */
  config: unknown;
  environment: Record<string, unknown> | null;
}

type Json = Record<string, unknown>;

function object(value: unknown): Json | null {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Json)
    : null;
}

function number(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function text(value: unknown): string | null {
  return typeof value === "string" ? printable(value) : null;
}

function method(value: unknown): EnergyMethodName | null {
  return value === "measured" || value === "estimated" || value === "none" ? value : null;
}

function percentiles(value: unknown): Percentiles | null {
  const stats = object(value);
  if (!stats) return null;
  const figures = [stats.min, stats.p50, stats.p95, stats.p99, stats.max].map(number);
  return figures.every((figure) => figure !== null) ? (figures as Percentiles) : null;
}

/** The report's facts of one parsed result.json (any JSON value: nothing is assumed). */
export function runFacts(raw: unknown): RunFacts {
  const result = object(raw) ?? {};
  const energy = object(result.energy) ?? {};
  const throughput = object(result.throughput) ?? {};
  const latency = object(result.latency) ?? {};
  const window = object(result.window) ?? {};
  const ttft = percentiles(latency.ttft_ms);
  const itl = percentiles(latency.itl_ms);
  const components: RunFacts["components"] = [];
  if (Array.isArray(energy.components)) {
    for (const item of energy.components) {
      const block = object(item);
      const name = text(block?.component) ?? text(block?.device);
      if (block && name) components.push({ component: name, method: text(block.method) ?? "?" });
    }
  }
  const warnings: RunFacts["warnings"] = [];
  if (Array.isArray(result.warnings)) {
    for (const item of result.warnings) {
      const warning = object(item);
      const code = text(warning?.code);
      if (code) warnings.push({ code, message: text(warning?.message) ?? "" });
    }
  }
  const estimate = object(energy.estimate_inputs);
  return {
    configHash: text(result.config_hash),
    energyPerOutputTokenJ: number(energy.energy_per_output_token_j),
    outputTokensPerS: number(throughput.output_tokens_per_s),
    ttftP50Ms: ttft?.[1] ?? null,
    itlP50Ms: itl?.[1] ?? null,
    meanPowerW: number(energy.mean_power_w),
    energyJ: number(energy.raw_j),
    method: method(energy.method),
    sampler: text(energy.sampler),
    selectionReason: text(energy.selection_reason),
    formula: text(estimate?.formula),
    components,
    latency: { ttft, itl, e2e: percentiles(latency.request_latency_ms) },
    warnings,
    windowS: number(window.duration_s),
    timeseriesFile: text(result.timeseries_file),
    baselineW: number(object(energy.baseline)?.power_w),
    config: result.config,
    environment: object(result.environment),
  };
}
