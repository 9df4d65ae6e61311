/**
 * Plots of the per-sample views: latency distributions (cumulative, per config) and power over
 * an experiment's window, with the window and the idle baseline marked. Pure.
 */
import type { StudyReport } from "./model.js";
import { axis, LATENCY_LABEL, PALETTE, type PlotSeries, type PlotSpec, spec } from "./plot-spec.js";

export function latencyPlot(
  study: StudyReport,
  index: number,
  kind: "ttft" | "itl" | "e2e",
): PlotSpec {
  const chosen = study.latency.filter((item) => item.kind === kind);
  const series = chosen.map(
    (item, position): PlotSeries => ({
      label: study.configs[item.config]?.summary ?? `config ${item.config}`,
      kind: "line",
      hollow: false,
      dashed: item.source === "percentiles",
      color: PALETTE[position % PALETTE.length] as string,
      x: item.ms,
      y: item.fraction.map((fraction) => fraction * 100),
    }),
  );
  const fromRequests = chosen.some((item) => item.source === "requests");
  const shown = new Set(study.latency.map((item) => item.config)).size;
  const source = fromRequests
    ? "From requests.jsonl: every request of every cycle."
    : "From result.json's percentiles (min, p50, p95, p99, max; mean over cycles), dashed; no requests.jsonl was written.";
  return spec(
    `s${index}-latency`,
    index,
    `Latency distribution: ${LATENCY_LABEL[kind]}`,
    `Share of requests (%) at or under each latency. ${source} ${shown < study.configs.length ? `${shown} of ${study.configs.length} configs (the Pareto front first).` : ""}`.trim(),
    axis(
      `${LATENCY_LABEL[kind]} (ms)`,
      series.flatMap((item) => item.x),
    ),
    { label: "requests at or under (%)", log: false, categories: null },
    series,
  );
}

export function powerPlot(study: StudyReport, index: number, traceIndex: number): PlotSpec {
  const trace = study.power[traceIndex];
  const series = (trace?.devices ?? []).map(
    (device, position): PlotSeries => ({
      label: trace?.method === "estimated" ? `${device.device} (estimated)` : device.device,
      kind: "line",
      hollow: trace?.method === "estimated",
      dashed: false,
      color: PALETTE[position % PALETTE.length] as string,
      x: device.tMs.map((ms) => ms / 1000),
      y: device.watts,
    }),
  );
  const config = trace ? study.configs[trace.config] : undefined;
  const thinned =
    trace && trace.samplesShown < trace.samplesInFile
      ? ` Downsampled to ${trace.samplesShown} of ${trace.samplesInFile} samples (bucket means).`
      : "";
  const plot = spec(
    `s${index}-power`,
    index,
    `Power over time: ${config?.summary ?? "–"} (cycle ${trace?.cycle ?? "–"})`,
    `From ${trace?.experiment ?? "–"}/timeseries.csv. Dotted lines: the measurement window and the idle baseline.${thinned}${trace?.method === "estimated" ? " Power is estimated (modelled), not measured." : ""}`,
    axis("time since window start (s)", []),
    axis("power (W)", []),
    series,
  );
  if (trace?.windowMs !== null && trace?.windowMs !== undefined) {
    plot.xMarks.push(
      { at: 0, label: "window start" },
      { at: trace.windowMs / 1000, label: "window end" },
    );
  }
  if (trace?.baselineW !== null && trace?.baselineW !== undefined) {
    plot.yMarks.push({
      at: trace.baselineW,
      label: `idle baseline ${trace.baselineW.toPrecision(3)} W`,
    });
  }
  return plot;
}
