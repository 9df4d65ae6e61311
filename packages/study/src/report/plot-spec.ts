/**
 * The plot vocabulary shared by every builder and both renderers: a PlotView names a plot, a
 * PlotSpec is what it draws. Pure (the browser bundle imports it).
 */
import { METRICS, type MetricKey } from "./model.js";

export interface PlotSeries {
  label: string;
  kind: "points" | "line";
  /** Points: hollow marks energy that was estimated. Lines also draw their points. */
  hollow: boolean;
  dashed: boolean;
  color: string;
  x: number[];
  y: number[];
  /** Per point, the config (index in its study) it stands for, for hover details. */
  configs?: number[];
  /** The study those configs belong to, where the plot spans several (the comparison). */
  study?: number;
}

export interface PlotAxis {
  label: string;
  log: boolean;
  /** A categorical axis: x values are indices into these labels. */
  categories: string[] | null;
}

export interface PlotSpec {
  id: string;
  title: string;
  caption: string;
  study: number | null;
  x: PlotAxis;
  y: PlotAxis;
  series: PlotSeries[];
  /** Vertical (x) and horizontal (y) reference lines, e.g. the window and the idle baseline. */
  xMarks: Array<{ at: number; label: string }>;
  yMarks: Array<{ at: number; label: string }>;
}

export type ParetoX = "output_tokens_per_s" | "ttft_p50_ms" | "itl_p50_ms";

export type PlotView =
  | { type: "pareto"; study: number; x: ParetoX }
  | { type: "axis"; study: number; axis: number; metric: MetricKey; groupBy: number }
  | { type: "latency"; study: number; kind: "ttft" | "itl" | "e2e" }
  | { type: "power"; study: number; trace: number }
  | { type: "compare" };

/** Okabe–Ito colours (readable by colour-blind readers), without the yellow that vanishes on white. */
export const PALETTE = [
  "#0072B2",
  "#D55E00",
  "#009E73",
  "#CC79A7",
  "#E69F00",
  "#56B4E9",
  "#000000",
  "#999999",
];
export const MEASURED = "#0072B2";
export const ESTIMATED = "#D55E00";

export const PARETO_ID: Record<ParetoX, string> = {
  output_tokens_per_s: "throughput",
  ttft_p50_ms: "ttft",
  itl_p50_ms: "itl",
};
export const LATENCY_LABEL = {
  ttft: "time to first token",
  itl: "inter-token latency",
  e2e: "end-to-end latency",
};

export function metricInfo(key: MetricKey) {
  return METRICS.find((metric) => metric.key === key) ?? METRICS[0];
}

/** A log scale when every value is positive and they span at least 50×. */
function wantsLog(values: readonly number[]): boolean {
  if (values.length < 2) return false;
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  for (const value of values) {
    if (value <= 0) return false;
    min = Math.min(min, value);
    max = Math.max(max, value);
  }
  return max / min >= 50;
}

export function axis(
  label: string,
  values: number[],
  categories: string[] | null = null,
): PlotAxis {
  return { label, log: categories === null && wantsLog(values), categories };
}

export function spec(
  id: string,
  study: number | null,
  title: string,
  caption: string,
  x: PlotAxis,
  y: PlotAxis,
  series: PlotSeries[],
): PlotSpec {
  return { id, study, title, caption, x, y, series, xMarks: [], yMarks: [] };
}

export function slug(text: string): string {
  return (
    text
      .replace(/[^A-Za-z0-9]+/g, "-")
      .replace(/^-|-$/g, "")
      .toLowerCase() || "axis"
  );
}

export const ESTIMATE_NOTE = "Hollow markers: estimated energy (modelled, not measured).";
