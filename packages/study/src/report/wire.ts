/**
 * The model as the page embeds it: the same data, smaller. A study of 18,944 configs written as
 * objects repeats every key 18,944 times and every figure with 17 digits (23 MB of JSON); here
 * the configs are columns (one array per field, one per metric figure) and figures are rounded
 * to 5 significant digits (the page shows 3), which makes it about a third. `toWire` runs when
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
const FIGURES = ["n", "mean", "sd", "min", "max"] as const;

export interface WireConfigs {
  hash: string[];
  summary: string[];
  completed: number[];
  failed: number[];
  /** Index into [null, measured, estimated, none]. */
  method: number[];
  axisValues: number[][];
  /** Per metric, per figure (n, mean, sd, min, max): one value per config, null where absent. */
  metrics: Partial<Record<MetricKey, Record<(typeof FIGURES)[number], Array<number | null>>>>;
}

export type WireStudy = Omit<StudyReport, "configs"> & { configs: WireConfigs };
export type WireModel = Omit<ReportModel, "studies"> & { studies: WireStudy[] };

function configsToWire(configs: readonly ConfigRow[]): WireConfigs {
  const wire: WireConfigs = {
    hash: configs.map((config) => config.hash),
    summary: configs.map((config) => config.summary),
    completed: configs.map((config) => config.cyclesCompleted),
    failed: configs.map((config) => config.cyclesFailed),
    method: configs.map((config) => METHODS.indexOf(config.method)),
    axisValues: configs.map((config) => config.axisValues),
    metrics: {},
  };
  for (const { key } of METRICS) {
    if (!configs.some((config) => config.metrics[key])) continue;
    const columns = Object.fromEntries(
      FIGURES.map((figure) => [figure, [] as Array<number | null>]),
    );
    for (const config of configs) {
      const spread = config.metrics[key];
      for (const figure of FIGURES) {
        const value = spread?.[figure];
        columns[figure]?.push(
          value === undefined ? null : figure === "n" ? value : round(value, 5),
        );
      }
    }
    wire.metrics[key] = columns as Record<(typeof FIGURES)[number], Array<number | null>>;
  }
  return wire;
}

function configsFromWire(wire: WireConfigs): ConfigRow[] {
  return wire.hash.map((hash, index) => {
    const metrics: ConfigRow["metrics"] = {};
    for (const [key, columns] of Object.entries(wire.metrics) as Array<
      [MetricKey, Record<string, Array<number | null>>]
    >) {
      const value = (figure: string) => columns[figure]?.[index] ?? null;
      const n = value("n");
      const mean = value("mean");
      if (n === null || mean === null) continue;
      const sd = value("sd") ?? 0;
      metrics[key] = {
        n,
        mean,
        sd,
        cv: n > 1 && mean !== 0 ? sd / Math.abs(mean) : null,
        min: value("min") ?? mean,
        max: value("max") ?? mean,
      };
    }
    return {
      hash,
      summary: wire.summary[index] ?? "",
      cyclesCompleted: wire.completed[index] ?? 0,
      cyclesFailed: wire.failed[index] ?? 0,
      method: METHODS[wire.method[index] ?? 0] ?? null,
      axisValues: wire.axisValues[index] ?? [],
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
