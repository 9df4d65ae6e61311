/**
 * Plots of the per-config figures: the Pareto fronts (energy against throughput and latency),
 * each sweep axis, and all studies on one plane. Pure.
 */
import type { MetricKey, ReportModel, StudyReport } from "./model.js";
import {
  axis,
  ESTIMATE_NOTE,
  ESTIMATED,
  MEASURED,
  metricInfo,
  PALETTE,
  PARETO_ID,
  type ParetoX,
  type PlotSeries,
  type PlotSpec,
  slug,
  spec,
} from "./plot-spec.js";
import { paretoFront } from "./stats.js";

/** Energy per token against one performance metric: every config a point, the front a line. */
export function paretoPlot(study: StudyReport, index: number, xKey: ParetoX): PlotSpec {
  const xMetric = metricInfo(xKey);
  const groups = { measured: [] as number[], estimated: [] as number[] };
  study.configs.forEach((config, configIndex) => {
    const x = config.metrics[xKey]?.mean;
    const y = config.metrics.energy_per_output_token_j?.mean;
    if (x === undefined || y === undefined) return;
    groups[config.method === "estimated" ? "estimated" : "measured"].push(configIndex);
  });
  const series: PlotSeries[] = [];
  // Fronts are drawn after every marker, so a dense cloud does not hide them.
  const fronts: PlotSeries[] = [];
  const both = groups.measured.length > 0 && groups.estimated.length > 0;
  for (const method of ["measured", "estimated"] as const) {
    const members = groups[method];
    if (members.length === 0) continue;
    const xs = members.map((config) => study.configs[config]?.metrics[xKey]?.mean as number);
    const ys = members.map(
      (config) => study.configs[config]?.metrics.energy_per_output_token_j?.mean as number,
    );
    const color = method === "estimated" ? ESTIMATED : MEASURED;
    series.push({
      label: `${method} energy`,
      kind: "points",
      hollow: method === "estimated",
      dashed: false,
      color,
      x: xs,
      y: ys,
      configs: members,
    });
    // Fronts per method: an estimate is compared with estimates only.
    const front = paretoFront(xs, ys, xMetric.better === "higher" ? "higher" : "lower");
    fronts.push({
      label: both ? `Pareto front (${method})` : "Pareto front",
      kind: "line",
      hollow: method === "estimated",
      dashed: method === "estimated",
      color,
      x: front.map((point) => xs[point] as number),
      y: front.map((point) => ys[point] as number),
      configs: front.map((point) => members[point] as number),
    });
  }
  series.push(...fronts);
  const all = series.filter((item) => item.kind === "points");
  const direction = xMetric.better === "higher" ? "faster" : "quicker";
  return spec(
    `s${index}-pareto-${PARETO_ID[xKey]}`,
    index,
    `J per output token vs ${xMetric.label}`,
    `Each point is a config (mean over its cycles). The line joins the Pareto front: no other config is both ${direction} and cheaper in energy. ${groups.estimated.length > 0 ? ESTIMATE_NOTE : ""}`.trim(),
    axis(
      xMetric.label,
      all.flatMap((item) => item.x),
    ),
    axis(
      "J / output token",
      all.flatMap((item) => item.y),
    ),
    series,
  );
}

/** The axis with the fewest values (at least 2) other than `axisIndex`; -1 when there is none. */
export function defaultGroupBy(study: StudyReport, axisIndex: number): number {
  let best = -1;
  study.axes.forEach((candidate, index) => {
    if (
      index === axisIndex ||
      candidate.values.length < 2 ||
      candidate.values.length > PALETTE.length
    )
      return;
    const current = study.axes[best];
    if (!current || candidate.values.length < current.values.length) best = index;
  });
  return best;
}

/** J per token where the study has energy figures, else output tok/s. */
export function defaultMetric(study: StudyReport): MetricKey {
  return study.configs.some((config) => config.metrics.energy_per_output_token_j)
    ? "energy_per_output_token_j"
    : "output_tokens_per_s";
}

/** A metric against one axis's values, one line per value of another axis (mean over the rest). */
export function axisPlot(
  study: StudyReport,
  index: number,
  axisIndex: number,
  metric: MetricKey,
  groupBy: number,
): PlotSpec {
  const target = study.axes[axisIndex];
  const group = study.axes[groupBy];
  const info = metricInfo(metric);
  const groupCount = group ? group.values.length : 1;
  const cells = new Map<number, { sum: number; n: number; estimated: boolean }>();
  for (const config of study.configs) {
    const value = config.metrics[metric]?.mean;
    const at = config.axisValues[axisIndex] ?? -1;
    const groupValue = group ? (config.axisValues[groupBy] ?? -1) : 0;
    if (value === undefined || at < 0 || groupValue < 0) continue;
    const key = groupValue * 1_000_000 + at;
    const cell = cells.get(key) ?? { sum: 0, n: 0, estimated: false };
    cell.sum += value;
    cell.n++;
    cell.estimated ||= config.method === "estimated";
    cells.set(key, cell);
  }
  const numbers = target?.numbers ?? null;
  const series: PlotSeries[] = [];
  let averaged = false;
  let estimated = false;
  for (let groupValue = 0; groupValue < groupCount; groupValue++) {
    const xs: number[] = [];
    const ys: number[] = [];
    let hollow = false;
    for (let at = 0; at < (target?.values.length ?? 0); at++) {
      const cell = cells.get(groupValue * 1_000_000 + at);
      if (!cell) continue;
      xs.push(numbers ? (numbers[at] as number) : at);
      ys.push(cell.sum / cell.n);
      averaged ||= cell.n > 1;
      hollow ||= cell.estimated && info.energy;
    }
    if (xs.length === 0) continue;
    estimated ||= hollow;
    const label = group ? `${group.key} = ${group.values[groupValue]}` : "all configs";
    series.push({
      label: hollow ? `${label} (estimated)` : label,
      kind: "line",
      hollow,
      dashed: false,
      color: PALETTE[groupValue % PALETTE.length] as string,
      x: xs,
      y: ys,
    });
  }
  const key = target?.key ?? "axis";
  const notes = [
    group ? `One line per ${group.key}.` : "",
    averaged
      ? "Where several configs share a point (other axes vary), it shows their mean."
      : "Each point is one config (mean over its cycles).",
    estimated ? ESTIMATE_NOTE : "",
  ];
  return spec(
    `s${index}-axis-${axisIndex + 1}-${slug(key)}`,
    index,
    `${info.label} vs ${key}`,
    notes.filter(Boolean).join(" "),
    axis(
      key,
      series.flatMap((item) => item.x),
      numbers ? null : (target?.values ?? []),
    ),
    axis(
      info.label,
      series.flatMap((item) => item.y),
    ),
    series,
  );
}

/** All studies on one energy/throughput plane: one colour per study, hollow where estimated. */
export function comparePlot(model: ReportModel): PlotSpec {
  const series: PlotSeries[] = [];
  model.studies.forEach((study, studyIndex) => {
    for (const method of ["measured", "estimated"] as const) {
      const members = study.configs.flatMap((config, configIndex) =>
        config.metrics.output_tokens_per_s &&
        config.metrics.energy_per_output_token_j &&
        (config.method === "estimated") === (method === "estimated")
          ? [configIndex]
          : [],
      );
      if (members.length === 0) continue;
      series.push({
        label: `${studyIndex + 1}: ${study.name}${method === "estimated" ? " (estimated)" : ""}`,
        kind: "points",
        hollow: method === "estimated",
        dashed: false,
        color: PALETTE[studyIndex % PALETTE.length] as string,
        x: members.map(
          (config) => study.configs[config]?.metrics.output_tokens_per_s?.mean as number,
        ),
        y: members.map(
          (config) => study.configs[config]?.metrics.energy_per_output_token_j?.mean as number,
        ),
        configs: members,
        study: studyIndex,
      });
    }
  });
  return spec(
    "compare-pareto",
    null,
    "All studies: J per output token vs output tokens / s",
    `One colour per study; each point a config. ${ESTIMATE_NOTE}`,
    axis(
      "output tokens / s",
      series.flatMap((item) => item.x),
    ),
    axis(
      "J / output token",
      series.flatMap((item) => item.y),
    ),
    series,
  );
}
