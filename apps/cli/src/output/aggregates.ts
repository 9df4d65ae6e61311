import type { Aggregate, ConfigAggregate, ExperimentConfig } from "@llem/schema";
import { printable } from "@llem/schema/errors";
import { ESTIMATED_MARK, sig3 } from "./format.js";
import { csvField, renderTable } from "./table.js";

/** Metrics shown per config, in column order; names are the summary's snake_case keys. */
/**
 * Metrics shown per config, in column order. `key` is the summary's metric; `column` the CSV's
 * column prefix, which says raw or adjusted wherever the summary's name does not (`energy_j` is
 * raw energy: `energy_raw_j` beside `energy_adjusted_j`).
 */
export const METRICS = [
  {
    key: "energy_per_output_token_j",
    column: "energy_per_output_token_j",
    label: "J/out-tok",
    isEnergy: true,
  },
  {
    key: "energy_per_output_token_raw_j",
    column: "energy_per_output_token_raw_j",
    label: "raw J/out-tok",
    isEnergy: true,
  },
  {
    key: "energy_per_output_token_adjusted_j",
    column: "energy_per_output_token_adjusted_j",
    label: "adj. J/out-tok",
    isEnergy: true,
  },
  {
    key: "output_tokens_per_s",
    column: "output_tokens_per_s",
    label: "out tok/s",
    isEnergy: false,
  },
  { key: "ttft_p50_ms", column: "ttft_p50_ms", label: "TTFT p50 ms", isEnergy: false },
  { key: "itl_p50_ms", column: "itl_p50_ms", label: "ITL p50 ms", isEnergy: false },
  { key: "mean_power_w", column: "mean_power_raw_w", label: "power W", isEnergy: true },
  { key: "energy_j", column: "energy_raw_j", label: "raw energy J", isEnergy: true },
  { key: "energy_adjusted_j", column: "energy_adjusted_j", label: "adj. energy J", isEnergy: true },
] as const;
type MetricKey = (typeof METRICS)[number]["key"];

const TABLE_METRICS: MetricKey[] = [
  "energy_per_output_token_j",
  "output_tokens_per_s",
  "ttft_p50_ms",
  "itl_p50_ms",
];

function metric(config: ConfigAggregate, key: MetricKey): Aggregate | null {
  return (config.metrics as Record<string, Aggregate | null | undefined>)[key] ?? null;
}

export function isEstimated(config: ConfigAggregate): boolean {
  return config.energy_method === "estimated";
}

/** "12.3 ±0.4" (mean ± sample stddev across cycles), "12.3" with one cycle, "-" with none. */
function meanAndSpread(aggregate: Aggregate | null): string {
  if (!aggregate || aggregate.n === 0) return "-";
  return aggregate.n > 1
    ? `${sig3(aggregate.mean)} ±${sig3(aggregate.stddev)}`
    : sig3(aggregate.mean);
}

/** The per-config table: every energy figure that was estimated carries the "est." mark. */
export function renderAggregateTable(configs: ConfigAggregate[]): string {
  const columns = [
    { header: "#", align: "right" as const },
    { header: "config" },
    { header: "cycles ok/failed", align: "right" as const },
    ...TABLE_METRICS.map((key) => ({
      header: METRICS.find((m) => m.key === key)?.label ?? key,
      align: "right" as const,
    })),
  ];
  const rows = configs.map((config, index) => [
    String(index + 1),
    printable(config.config_summary),
    `${config.cycles_completed}/${config.cycles_failed}`,
    ...TABLE_METRICS.map((key) => {
      const text = meanAndSpread(metric(config, key));
      const energy = METRICS.find((m) => m.key === key)?.isEnergy;
      if (energy && text !== "-" && isEstimated(config)) return `${text} ${ESTIMATED_MARK}`;
      if (energy && config.energy_method === "none") return "no energy";
      return text;
    }),
  ]);
  // The spread note only where a spread is shown (some config completed more than one cycle).
  const spread = configs.some((config) =>
    TABLE_METRICS.some((key) => (metric(config, key)?.n ?? 0) > 1),
  );
  const notes: string[] = [
    ...(spread ? ["mean ±stddev across completed cycles"] : []),
    energyBasisNote(configs),
  ];
  if (configs.some(isEstimated)) {
    notes.push(
      `${ESTIMATED_MARK} = estimated energy (CPU time × watts per core), not a measurement`,
    );
  }
  return `${renderTable(columns, rows)}\n${notes.map((note) => `  ${note}`).join("\n")}`;
}

/** Which energy the J/out-tok column shows: above idle, raw, or (between configs) both. */
function energyBasisNote(configs: ConfigAggregate[]): string {
  const bases = new Set(configs.map((config) => config.energy_basis ?? null));
  bases.delete(null);
  if (bases.size === 0) return "J/out-tok: no energy was measured";
  if (bases.size === 1 && bases.has("adjusted"))
    return "J/out-tok: energy above idle (raw − idle power × window) ÷ output tokens";
  if (bases.size === 1 && bases.has("raw"))
    return "J/out-tok: raw energy ÷ output tokens (no idle baseline was measured)";
  return "J/out-tok: above idle where an idle baseline was measured, else raw (results --format csv has both)";
}

/** A config as dotted leaves: `{llamacpp: {batch_size: 4}}` → `llamacpp.batch_size` = 4. */
function leaves(value: unknown, prefix: string, out: Map<string, unknown>): Map<string, unknown> {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, item] of Object.entries(value)) {
      leaves(item, prefix ? `${prefix}.${key}` : key, out);
    }
  } else {
    out.set(prefix, value);
  }
  return out;
}

/**
 * The fields that differ between the configs shown (what the sweep varied, whichever way:
 * axes, groups, explicit experiments), in the config model's order, and each config's values.
 */
export function sweptFields(configs: Iterable<ExperimentConfig>): {
  fields: string[];
  values: (config: ExperimentConfig | undefined, field: string) => unknown;
} {
  const flat = [...configs].map((config) => leaves(config, "", new Map()));
  const fields: string[] = [];
  const seen = new Set<string>();
  for (const map of flat) {
    for (const field of map.keys()) {
      if (seen.has(field)) continue;
      seen.add(field);
      const first = JSON.stringify(flat[0]?.get(field));
      if (flat.some((other) => JSON.stringify(other.get(field)) !== first)) fields.push(field);
    }
  }
  const cache = new WeakMap<ExperimentConfig, Map<string, unknown>>();
  return {
    fields,
    values: (config, field) => {
      if (!config) return undefined;
      let map = cache.get(config);
      if (!map) {
        map = leaves(config, "", new Map());
        cache.set(config, map);
      }
      return map.get(field);
    },
  };
}

/** A config value in a CSV cell: scalars as they are, lists as JSON, null as empty. */
function cellValue(value: unknown): string | number | boolean | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "object") return JSON.stringify(value);
  return value as string | number | boolean;
}

/**
 * The CSV of `llem results`: one row per config, one column per swept field (`task.model`,
 * `llamacpp.batch_size` … — the fields that differ between the configs, taken from their
 * results), then every metric's n, mean, stddev, min and max, raw and adjusted energy in columns
 * named so. A table a scientist can pivot.
 */
export function renderAggregateCsv(
  studies: Array<{
    studyDir: string;
    configs: ConfigAggregate[];
    experimentConfigs?: ReadonlyMap<string, ExperimentConfig>;
  }>,
): string {
  const stats = ["n", "mean", "stddev", "min", "max"] as const;
  const configOf = (study: (typeof studies)[number], hash: string): ExperimentConfig | undefined =>
    study.experimentConfigs?.get(hash);
  const swept = sweptFields(
    studies.flatMap((study) =>
      study.configs.flatMap((config) => configOf(study, config.config_hash) ?? []),
    ),
  );
  const header = [
    "study_dir",
    "config_hash",
    "config_summary",
    ...swept.fields,
    "cycles_completed",
    "cycles_failed",
    "energy_method",
    "energy_estimated",
    "energy_basis",
    ...METRICS.flatMap((m) => stats.map((stat) => `${m.column}_${stat}`)),
  ];
  const lines = studies.flatMap((study) =>
    study.configs.map((config) =>
      [
        study.studyDir,
        config.config_hash,
        config.config_summary,
        ...swept.fields.map((field) =>
          cellValue(swept.values(configOf(study, config.config_hash), field)),
        ),
        config.cycles_completed,
        config.cycles_failed,
        config.energy_method,
        isEstimated(config),
        config.energy_basis ?? null,
        ...METRICS.flatMap((m) => stats.map((stat) => metric(config, m.key)?.[stat] ?? null)),
      ]
        .map(csvField)
        .join(","),
    ),
  );
  return `${[header.join(","), ...lines].join("\n")}\n`;
}

/** JSON keeps the summary's own shape and adds an explicit flag next to each estimate. */
export function aggregatesAsJson(configs: ConfigAggregate[], studyDir: string): unknown[] {
  return configs.map((config) => ({
    study_dir: studyDir,
    ...config,
    energy_estimated: isEstimated(config),
  }));
}
