/**
 * `@llem/study/report`: one offline HTML report of one or more study dirs, and SVG figures of its
 * plots. Loads none of the runner: it reads the public files of a study dir only.
 *
 *   import { buildReport } from "@llem/study/report";
 *   const { output } = await buildReport(["results/quickstart_2026-…"], { svgDir: "figures" });
 *
 * The pieces, for tools that want the figures without the page: `loadReportModel` (the compact
 * model: per-config spreads, axes, chosen latency distributions and power traces),
 * `defaultViews` + `buildPlot` (each plot as data), `plotToSvg` (one plot as an SVG document),
 * `paretoFront` (the front of any point set).
 */
export { type ComparisonRow, comparisonRows } from "./compare.js";
export { DEFAULT_CV_THRESHOLD, loadReportModel, type ReportOptions } from "./load.js";
export type * from "./model.js";
export { METRICS, REPORT_MODEL_VERSION } from "./model.js";
export {
  buildPlot,
  defaultViews,
  type PlotAxis,
  type PlotSeries,
  type PlotSpec,
  type PlotView,
  pointCounts,
} from "./plots.js";
export { cumulative, downsample, paretoFront, quantile, spread } from "./stats.js";
export { plotToSvg } from "./svg.js";
export {
  type BuildReportOptions,
  type BuiltReport,
  buildReport,
  REPORT_FILE_NAME,
} from "./write.js";
