import type { Aggregate, ConfigAggregate } from "@llem/schema";
import { ESTIMATED_MARK, sig3 } from "./format.js";
import { printable } from "./printable.js";
import { csvField, renderTable } from "./table.js";

/** Metrics shown per config, in column order; names are the summary's snake_case keys. */
export const METRICS = [
  { key: "energy_per_output_token_j", label: "J/out-tok", isEnergy: true },
  { key: "energy_per_output_token_raw_j", label: "raw J/out-tok", isEnergy: true },
  { key: "energy_per_output_token_adjusted_j", label: "adj. J/out-tok", isEnergy: true },
  { key: "output_tokens_per_s", label: "out tok/s", isEnergy: false },
  { key: "ttft_p50_ms", label: "TTFT p50 ms", isEnergy: false },
  { key: "itl_p50_ms", label: "ITL p50 ms", isEnergy: false },
  { key: "mean_power_w", label: "power W", isEnergy: true },
  { key: "energy_j", label: "raw energy J", isEnergy: true },
  { key: "energy_adjusted_j", label: "adj. energy J", isEnergy: true },
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
  const notes: string[] = ["mean ±stddev across completed cycles", energyBasisNote(configs)];
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

export function renderAggregateCsv(
  studies: Array<{ studyDir: string; configs: ConfigAggregate[] }>,
): string {
  const stats = ["n", "mean", "stddev", "min", "max"] as const;
  const header = [
    "study_dir",
    "config_hash",
    "config_summary",
    "cycles_completed",
    "cycles_failed",
    "energy_method",
    "energy_estimated",
    "energy_basis",
    ...METRICS.flatMap((m) => stats.map((stat) => `${m.key}_${stat}`)),
  ];
  const lines = studies.flatMap(({ studyDir, configs }) =>
    configs.map((config) =>
      [
        studyDir,
        config.config_hash,
        config.config_summary,
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
