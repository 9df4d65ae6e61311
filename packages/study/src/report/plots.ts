/**
 * What each plot shows, as data: a PlotView names a plot (which study, which axis …), and
 * `buildPlot` turns it into a PlotSpec — series of (x, y) points with labels, styles and marks.
 * The browser (client/chart.ts, with uPlot) and the SVG writer (svg.ts) both draw PlotSpecs, so a
 * plot has the same points in the page and in the paper figure. Pure: the browser bundle imports it.
 *
 * Estimated energy is drawn differently everywhere: hollow markers, "estimated" in the legend.
 */
import type { ReportModel, StudyReport } from "./model.js";
import type { PlotSpec, PlotView } from "./plot-spec.js";
import {
  axisPlot,
  comparePlot,
  defaultGroupBy,
  defaultMetric,
  paretoPlot,
} from "./plots-configs.js";
import { latencyPlot, powerPlot } from "./plots-samples.js";

export * from "./plot-spec.js";
export { defaultGroupBy, defaultMetric } from "./plots-configs.js";

export function buildPlot(model: ReportModel, view: PlotView): PlotSpec {
  if (view.type === "compare") return comparePlot(model);
  const study = model.studies[view.study] as StudyReport;
  switch (view.type) {
    case "pareto":
      return paretoPlot(study, view.study, view.x);
    case "axis":
      return axisPlot(study, view.study, view.axis, view.metric, view.groupBy);
    case "latency":
      return latencyPlot(study, view.study, view.kind);
    case "power":
      return powerPlot(study, view.study, view.trace);
  }
}

/** Markers (config points) and line points of a plot, as the page and the SVG count them. */
export function pointCounts(plot: PlotSpec): { markers: number; linePoints: number } {
  let markers = 0;
  let linePoints = 0;
  for (const series of plot.series) {
    if (series.kind === "points") markers += series.x.length;
    else linePoints += series.x.length;
  }
  return { markers, linePoints };
}

/** The plots a report shows, in their first state (the SVG export writes exactly these). */
export function defaultViews(model: ReportModel): PlotView[] {
  const views: PlotView[] = [];
  if (model.studies.length > 1) views.push({ type: "compare" });
  model.studies.forEach((study, index) => {
    for (const x of ["output_tokens_per_s", "ttft_p50_ms", "itl_p50_ms"] as const)
      views.push({ type: "pareto", study: index, x });
    const metric = defaultMetric(study);
    study.axes.forEach((_, axisIndex) => {
      views.push({
        type: "axis",
        study: index,
        axis: axisIndex,
        metric,
        groupBy: defaultGroupBy(study, axisIndex),
      });
    });
    const kind = (["ttft", "itl", "e2e"] as const).find((candidate) =>
      study.latency.some((item) => item.kind === candidate),
    );
    if (kind) views.push({ type: "latency", study: index, kind });
    if (study.power.length > 0) views.push({ type: "power", study: index, trace: 0 });
  });
  return views.filter((view) => {
    const counts = pointCounts(buildPlot(model, view));
    return counts.markers + counts.linePoints > 0;
  });
}
