/**
 * The report model: everything `llem report` shows, compact and JSON-serialisable. It is built on
 * the Node side from a study dir's public files (load.ts), embedded in the HTML as JSON, and read
 * by two renderers that share the plot builders in plots.ts: uPlot in the browser (client/) and
 * the SVG writer (svg.ts). It never holds every sample: per-config aggregates, a few chosen
 * latency distributions and power traces, each downsampled.
 *
 * This file holds types and constants only, so the browser bundle can import it.
 */

export const REPORT_MODEL_VERSION = 1;

export type EnergyMethodName = "measured" | "estimated" | "none";

/**
 * A metric across the completed cycles of one config (sd: n − 1; cv = sd ÷ |mean|, null when
 * n < 2). min and max are left out of the data embedded in the page (wire.ts).
 */
export interface Spread {
  n: number;
  mean: number;
  sd: number;
  cv: number | null;
  min?: number;
  max?: number;
}

/** The per-config metrics, in table order; `better` says which way the Pareto front faces. */
export const METRICS = [
  {
    key: "energy_per_output_token_j",
    label: "J / output token",
    short: "J/out-tok",
    better: "lower",
    energy: true,
  },
  {
    key: "output_tokens_per_s",
    label: "output tokens / s",
    short: "out tok/s",
    better: "higher",
    energy: false,
  },
  {
    key: "ttft_p50_ms",
    label: "TTFT p50 (ms)",
    short: "TTFT p50 ms",
    better: "lower",
    energy: false,
  },
  { key: "itl_p50_ms", label: "ITL p50 (ms)", short: "ITL p50 ms", better: "lower", energy: false },
  { key: "mean_power_w", label: "mean power (W)", short: "power W", better: "lower", energy: true },
  {
    key: "energy_j",
    label: "energy per run (J)",
    short: "energy J",
    better: "lower",
    energy: true,
  },
] as const;
export type MetricKey = (typeof METRICS)[number]["key"];

export interface ConfigRow {
  hash: string;
  /** `config_summary`, control characters made visible. */
  summary: string;
  cyclesCompleted: number;
  cyclesFailed: number;
  /** estimated if any cycle's energy was estimated; null before any cycle completed. */
  method: EnergyMethodName | null;
  /** Per study axis: index into `axes[i].values`, or -1 where this config has no such setting. */
  axisValues: number[];
  metrics: Partial<Record<MetricKey, Spread>>;
}

/** A sweep axis: a config setting whose value differs between the study's configs. */
export interface Axis {
  /** Dotted path in the experiment config, e.g. `llamacpp.batch_size`. */
  key: string;
  /** Display forms of the values, in order (numeric axes ascending). */
  values: string[];
  /** Numeric values (same order) when every value is a number; null for a categorical axis. */
  numbers: number[] | null;
  /** Whether the study file declares this axis in `sweep:` (others differ via groups or experiments). */
  declared: boolean;
}

export type LatencyKind = "ttft" | "itl" | "e2e";

/** One config's latency distribution as (latency ms, cumulative fraction 0–1) points. */
export interface LatencyDistribution {
  config: number;
  kind: LatencyKind;
  /** requests: from requests.jsonl (every request of every cycle); percentiles: from result.json. */
  source: "requests" | "percentiles";
  ms: number[];
  fraction: number[];
  /** Requests (or ITL gaps) behind it; requests that failed are left out and counted. */
  samples: number;
  errors: number;
}

/** Power over one experiment's window, from its timeseries.csv. */
export interface PowerTrace {
  config: number;
  cycle: number;
  /** The experiment's directory name under experiments/. */
  experiment: string;
  windowMs: number | null;
  baselineW: number | null;
  method: EnergyMethodName | null;
  devices: Array<{ device: string; tMs: number[]; watts: number[] }>;
  /** Samples in the file, and how many are kept here (bucket means when downsampled). */
  samplesInFile: number;
  samplesShown: number;
}

export interface EnergySource {
  sampler: string;
  method: EnergyMethodName;
  runs: number;
  /** One run's `selection_reason` (why this sampler). */
  reason: string;
  formula: string | null;
}

export interface StudyReport {
  /** The dir as given on the command line (display) and resolved. */
  dir: string;
  name: string;
  status: string;
  /** A process holds the study lock now (it is running). */
  lockHolder: string | null;
  startedAt: string | null;
  endedAt: string | null;
  counts: {
    runs: number;
    completed: number;
    failed: number;
    pending: number;
    running: number;
    configs: number;
    skipped: number;
  };
  /** Label/value pairs, in display order. */
  protocol: Array<[string, string]>;
  environment: Array<[string, string]>;
  energy: {
    methods: EnergyMethodName[];
    sources: EnergySource[];
    components: Array<{ component: string; method: string; runs: number }>;
    totalJ: number | null;
  };
  warnings: Array<{ code: string; runs: number; message: string }>;
  axes: Axis[];
  configs: ConfigRow[];
  latency: LatencyDistribution[];
  power: PowerTrace[];
  failures: Array<{ summary: string; hash: string; cycle: number; type: string; message: string }>;
  failuresTotal: number;
  skipped: Array<{ summary: string; reason: string }>;
  /** Problems reading the study's files (a result that did not parse …), shown in the report. */
  notes: string[];
}

export interface ReportModel {
  version: typeof REPORT_MODEL_VERSION;
  generatedAt: string;
  llemVersion: string;
  /** Cycle-to-cycle CV above which a table cell is flagged. */
  cvThreshold: number;
  studies: StudyReport[];
}
