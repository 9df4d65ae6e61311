/**
 * The model as the page embeds it: the same data, smaller. A study of 18,944 configs written as
 * objects repeats every key 18,944 times and every figure with 17 digits (23 MB of JSON); here
 * the configs are columns (one array per field and metric figure), figures are rounded to 5
 * significant digits (the page shows 3), axis positions are one character each, and what the
 * page does not show (min, max) stays out — about a quarter of the size. `toWire` runs when
 * the report is built, `fromWire` in the page; `fromWire(toWire(model))` is the model with
 * rounded figures. Pure (the browser bundle imports it).
 */
import {
  type ConfigRow,
  type EnergyMethodName,
  METRICS,
  type MetricKey,
  type ReportModel,
  type StudyReport,
} from "./model.js";
import { round } from "./stats.js";

const METHODS: Array<EnergyMethodName | null> = [null, "measured", "estimated", "none"];
/** Axis value indices as one character each (0–9, a–z; "-" for not set), where every axis has < 36 values. */
const DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz";

export interface WireConfigs {
  hash: string[];
  summary: string[];
  completed: number[];
  failed: number[];
  /** Index into [null, measured, estimated, none]. */
  method: number[];
  /** Per config: one character per axis (DIGITS), or the index array when an axis is too long. */
  axisValues: string[] | number[][];
  /**
   * Per metric: mean and sd per config (null where absent), 5 significant digits; n only where it
   * is not the config's completed cycles. min and max stay out of the page (it shows neither).
   */
  metrics: Partial<
    Record<MetricKey, { mean: Array<number | null>; sd: Array<number | null>; n?: number[] }>
  >;
}

export type WireStudy = Omit<StudyReport, "configs"> & { configs: WireConfigs };
export type WireModel = Omit<ReportModel, "studies"> & { studies: WireStudy[] };

function axisValuesToWire(configs: readonly ConfigRow[]): WireConfigs["axisValues"] {
  const short = configs.every((config) =>
    config.axisValues.every((value) => value < DIGITS.length),
  );
  if (!short) return configs.map((config) => config.axisValues);
  return configs.map((config) =>
    config.axisValues.map((value) => (value < 0 ? "-" : DIGITS[value])).join(""),
  );
}

function configsToWire(configs: readonly ConfigRow[]): WireConfigs {
  const wire: WireConfigs = {
    hash: configs.map((config) => config.hash),
    summary: configs.map((config) => config.summary),
    completed: configs.map((config) => config.cyclesCompleted),
    failed: configs.map((config) => config.cyclesFailed),
    method: configs.map((config) => METHODS.indexOf(config.method)),
    axisValues: axisValuesToWire(configs),
    metrics: {},
  };
  for (const { key } of METRICS) {
    if (!configs.some((config) => config.metrics[key])) continue;
    const figures = configs.map((config) => config.metrics[key]);
    const column: NonNullable<WireConfigs["metrics"][MetricKey]> = {
      mean: figures.map((figure) => (figure ? round(figure.mean, 5) : null)),
      sd: figures.map((figure) => (figure ? round(figure.sd, 5) : null)),
    };
    if (figures.some((figure, index) => figure && figure.n !== configs[index]?.cyclesCompleted)) {
      column.n = figures.map((figure) => figure?.n ?? 0);
    }
    wire.metrics[key] = column;
  }
  return wire;
}

function configsFromWire(wire: WireConfigs): ConfigRow[] {
  return wire.hash.map((hash, index) => {
    const completed = wire.completed[index] ?? 0;
    const metrics: ConfigRow["metrics"] = {};
    for (const [key, column] of Object.entries(wire.metrics) as Array<
      [MetricKey, NonNullable<WireConfigs["metrics"][MetricKey]>]
    >) {
      const mean = column.mean[index] ?? null;
      if (mean === null) continue;
      const n = column.n?.[index] ?? completed;
      const sd = column.sd[index] ?? 0;
      metrics[key] = { n, mean, sd, cv: n > 1 && mean !== 0 ? sd / Math.abs(mean) : null };
    }
    const axes = wire.axisValues[index] ?? [];
    return {
      hash,
      summary: wire.summary[index] ?? "",
      cyclesCompleted: completed,
      cyclesFailed: wire.failed[index] ?? 0,
      method: METHODS[wire.method[index] ?? 0] ?? null,
      axisValues:
        typeof axes === "string"
          ? [...axes].map((char) => (char === "-" ? -1 : DIGITS.indexOf(char)))
          : axes,
      metrics,
    };
  });
}

export function toWire(model: ReportModel): WireModel {
  return {
    ...model,
    studies: model.studies.map((study) => ({ ...study, configs: configsToWire(study.configs) })),
  };
}

export function fromWire(wire: WireModel): ReportModel {
  return {
    ...wire,
    studies: wire.studies.map((study) => ({ ...study, configs: configsFromWire(study.configs) })),
  };
}
