/**
 * Several studies side by side: the configs (by config hash — the same config on every machine)
 * that at least two of them ran, with each study's mean and the change against the first study
 * that has the config. Pure (the page builds its comparison table from this).
 *
 *   study 1: abc… 0.010 J/tok    study 2: abc… 0.012 J/tok   → delta +20% (study 2 vs study 1)
 */
import type { MetricKey, ReportModel } from "./model.js";

export const COMPARED_METRICS: MetricKey[] = [
  "energy_per_output_token_j",
  "output_tokens_per_s",
  "ttft_p50_ms",
  "itl_p50_ms",
];

export interface ComparisonRow {
  hash: string;
  summary: string;
  /** Per study (model order): the config's index there, or -1 when that study did not run it. */
  configs: number[];
  /** Per metric, per study: the mean, or null. */
  means: Partial<Record<MetricKey, Array<number | null>>>;
  /** Per metric, per study: (mean − reference) ÷ reference, the reference being the first study with a mean. */
  deltas: Partial<Record<MetricKey, Array<number | null>>>;
  /** Whether any of the compared figures is an estimate. */
  estimated: boolean;
}

export function comparisonRows(model: ReportModel): ComparisonRow[] {
  const index = new Map<string, number[]>();
  model.studies.forEach((study, studyIndex) => {
    study.configs.forEach((config, configIndex) => {
      let positions = index.get(config.hash);
      if (!positions) {
        positions = model.studies.map(() => -1);
        index.set(config.hash, positions);
      }
      positions[studyIndex] = configIndex;
    });
  });
  const rows: ComparisonRow[] = [];
  for (const [hash, positions] of index) {
    if (positions.filter((position) => position >= 0).length < 2) continue;
    const configsHere = positions.map((position, studyIndex) =>
      position >= 0 ? model.studies[studyIndex]?.configs[position] : undefined,
    );
    const row: ComparisonRow = {
      hash,
      summary: configsHere.find(Boolean)?.summary ?? hash,
      configs: positions,
      means: {},
      deltas: {},
      estimated: configsHere.some((config) => config?.method === "estimated"),
    };
    for (const metric of COMPARED_METRICS) {
      const means = configsHere.map((config) => config?.metrics[metric]?.mean ?? null);
      const reference = means.find((mean) => mean !== null && mean !== 0) ?? null;
      row.means[metric] = means;
      row.deltas[metric] = means.map((mean) =>
        mean === null || reference === null ? null : (mean - reference) / Math.abs(reference),
      );
    }
    rows.push(row);
  }
  return rows;
}
