/**
 * The report page's script (bundled by tsup into dist/report-client.js and inlined in every
 * report). It reads the model from `<script id="llem-data">`, fills each config table and each
 * `<figure data-view>` the HTML laid out, and re-draws a plot when its controls change (metric,
 * group-by axis, latency kind, experiment). Plots are built by the same plots.ts the SVG export
 * uses. When done it sets `window.llemReport` (what was drawn), which the browser tests read.
 */
import { COMPARED_METRICS, type ComparisonRow, comparisonRows } from "../compare.js";
import { meanSd, num, percent } from "../format.js";
import { type ConfigRow, METRICS, type MetricKey, type ReportModel } from "../model.js";
import { buildPlot, metricInfo, type PlotSpec, type PlotView } from "../plots.js";
import { fromWire, type WireModel } from "../wire.js";
import { type DrawnPlot, drawPlot } from "./chart.js";
import { type Column, renderTable } from "./table.js";

declare global {
  interface Window {
    llemReport?: {
      ready: boolean;
      plots: Array<{ id: string; markers: number; linePoints: number }>;
      /**
       * ms reading the data and filling the tables; and ms since navigation when the first screen
       * was painted and when every plot was drawn.
       */
      timings?: { data: number; tables: number; firstScreen: number; allPlots: number };
      error?: string;
    };
  }
}

const started = performance.now();
const model: ReportModel = fromWire(
  JSON.parse(document.getElementById("llem-data")?.textContent ?? "null") as WireModel,
);
const drawn = new Map<string, { markers: number; linePoints: number }>();

function option(select: HTMLSelectElement, value: string, label: string, selected: boolean) {
  const item = document.createElement("option");
  item.value = value;
  item.textContent = label;
  item.selected = selected;
  select.append(item);
}

function control(
  figure: HTMLElement,
  label: string,
  onChange: (value: string) => void,
): HTMLSelectElement {
  const wrapper = document.createElement("label");
  wrapper.textContent = `${label} `;
  const select = document.createElement("select");
  select.addEventListener("change", () => onChange(select.value));
  wrapper.append(select);
  figure.querySelector(".controls")?.append(wrapper);
  return select;
}

/** Hover lines for a point: a config's figures where the point is a config, else x and y. */
function describer(plot: PlotSpec) {
  return (seriesIndex: number, point: number): string[] => {
    const series = plot.series[seriesIndex];
    if (!series) return [];
    const configIndex = series.configs?.[point];
    const study = model.studies[series.study ?? plot.study ?? 0];
    const config = configIndex === undefined ? undefined : study?.configs[configIndex];
    if (!config) {
      const x = plot.x.categories
        ? plot.x.categories[series.x[point] as number]
        : num(series.x[point]);
      return [series.label, `${plot.x.label}: ${x}`, `${plot.y.label}: ${num(series.y[point])}`];
    }
    const lines = [config.summary, `config ${config.hash} · ${config.cyclesCompleted} cycle(s)`];
    for (const metric of METRICS.slice(0, 5)) {
      const figure = config.metrics[metric.key];
      if (figure)
        lines.push(
          `${metric.label}: ${meanSd(figure)}${metric.energy && config.method === "estimated" ? " (estimated)" : ""}`,
        );
    }
    lines.push(`energy: ${config.method ?? "none"}`);
    return lines;
  };
}

/** Sets up a figure's controls; returns the function that draws (and re-draws) its plot. */
function renderFigure(figure: HTMLElement): () => void {
  let view = JSON.parse(figure.dataset.view ?? "{}") as PlotView;
  const target = figure.querySelector<HTMLElement>(".plot") as HTMLElement;
  let current: DrawnPlot | undefined;
  const draw = () => {
    current?.destroy();
    target.replaceChildren();
    const plot = buildPlot(model, view);
    const title = figure.querySelector(".title");
    const caption = figure.querySelector(".caption");
    if (title) title.textContent = plot.title;
    if (caption) caption.textContent = plot.caption;
    current = drawPlot(target, plot, describer(plot));
    figure.dataset.plotId = plot.id;
    figure.dataset.markers = String(current.markers);
    figure.dataset.linePoints = String(current.linePoints);
    drawn.set(figure.id, { markers: current.markers, linePoints: current.linePoints });
  };
  if (view.type === "axis") {
    const study = model.studies[view.study];
    const metric = control(figure, "metric", (value) => {
      view = { ...(view as Extract<PlotView, { type: "axis" }>), metric: value as MetricKey };
      draw();
    });
    for (const item of METRICS) {
      if (study?.configs.some((config) => config.metrics[item.key]))
        option(metric, item.key, item.label, item.key === view.metric);
    }
    const group = control(figure, "one line per", (value) => {
      view = { ...(view as Extract<PlotView, { type: "axis" }>), groupBy: Number(value) };
      draw();
    });
    option(group, "-1", "(none)", view.groupBy === -1);
    study?.axes.forEach((axis, index) => {
      if (index !== (view as { axis: number }).axis && axis.values.length <= 8)
        option(group, String(index), axis.key, index === (view as { groupBy: number }).groupBy);
    });
  } else if (view.type === "latency") {
    const study = model.studies[view.study];
    const kind = control(figure, "latency", (value) => {
      view = { ...(view as Extract<PlotView, { type: "latency" }>), kind: value as "ttft" };
      draw();
    });
    for (const [value, label] of [
      ["ttft", "time to first token"],
      ["itl", "inter-token"],
      ["e2e", "end to end"],
    ] as const) {
      if (study?.latency.some((item) => item.kind === value))
        option(kind, value, label, value === view.kind);
    }
  } else if (view.type === "power") {
    const study = model.studies[view.study];
    const trace = control(figure, "experiment", (value) => {
      view = { ...(view as Extract<PlotView, { type: "power" }>), trace: Number(value) };
      draw();
    });
    study?.power.forEach((item, index) => {
      option(
        trace,
        String(index),
        `${study.configs[item.config]?.summary ?? "?"} · cycle ${item.cycle}`,
        index === 0,
      );
    });
  }
  return draw;
}

function metricCell(key: MetricKey, cvThreshold: number) {
  return (cell: HTMLTableCellElement, row: ConfigRow) => {
    const figure = row.metrics[key];
    cell.textContent = meanSd(figure);
    if (metricInfo(key).energy && figure && row.method === "estimated") {
      const mark = document.createElement("span");
      mark.className = "est";
      mark.textContent = "est.";
      mark.title = "estimated energy (modelled from CPU time), not a measurement";
      cell.append(" ", mark);
    }
    if (figure?.cv !== null && figure?.cv !== undefined) {
      const cv = document.createElement("div");
      cv.className = "cv";
      cv.textContent = `CV ${percent(figure.cv)}`;
      if (figure.cv > cvThreshold) {
        cell.classList.add("flag");
        cv.textContent = `⚠ CV ${percent(figure.cv)}`;
        cell.title = `cycle-to-cycle CV ${percent(figure.cv)} is above ${percent(cvThreshold)}: repeat or lengthen this config`;
      }
      cell.append(cv);
    }
  };
}

function configTable(container: HTMLElement) {
  const study = model.studies[Number(container.dataset.study)];
  if (!study) return;
  const position = new Map(study.configs.map((row, index) => [row, index]));
  const columns: Array<Column<ConfigRow>> = [
    {
      label: "#",
      numeric: true,
      sortValue: (row) => position.get(row) ?? null,
      fill: (cell, row) => {
        cell.textContent = String((position.get(row) ?? 0) + 1);
      },
    },
    {
      label: "config",
      numeric: false,
      sortValue: (row) => row.summary,
      fill: (cell, row) => {
        cell.textContent = row.summary;
        const hash = document.createElement("div");
        hash.className = "hash";
        hash.textContent = row.hash;
        cell.append(hash);
      },
    },
    {
      label: "cycles ok/failed",
      numeric: true,
      sortValue: (row) => row.cyclesCompleted,
      fill: (cell, row) => {
        cell.textContent = `${row.cyclesCompleted}/${row.cyclesFailed}`;
      },
    },
    ...METRICS.filter((metric) => study.configs.some((config) => config.metrics[metric.key])).map(
      (metric): Column<ConfigRow> => ({
        label: metric.short,
        title: `${metric.label}: mean ± sd across cycles, CV = sd ÷ mean (${metric.better} is better)`,
        numeric: true,
        sortValue: (row) => row.metrics[metric.key]?.mean ?? null,
        fill: metricCell(metric.key, model.cvThreshold),
      }),
    ),
  ];
  renderTable(container, study.configs, columns, {
    searchText: (row) => `${row.summary} ${row.hash}`,
  });
}

function compareTable(container: HTMLElement) {
  const rows = comparisonRows(model);
  if (rows.length === 0) {
    container.textContent = "No config hash appears in more than one of these studies.";
    return;
  }
  const columns: Array<Column<ComparisonRow>> = [
    {
      label: "config",
      numeric: false,
      sortValue: (row) => row.summary,
      fill: (cell, row) => {
        cell.textContent = `${row.summary} (${row.hash})`;
      },
    },
  ];
  for (const metric of COMPARED_METRICS) {
    model.studies.forEach((study, studyIndex) => {
      columns.push({
        label: `${metricInfo(metric).short} [${studyIndex + 1}]`,
        title: `${metricInfo(metric).label} in study ${studyIndex + 1} (${study.name})`,
        numeric: true,
        sortValue: (row) => row.means[metric]?.[studyIndex] ?? null,
        fill: (cell, row) => {
          cell.textContent = num(row.means[metric]?.[studyIndex]);
          const delta = row.deltas[metric]?.[studyIndex];
          if (studyIndex > 0 && delta !== null && delta !== undefined) {
            const mark = document.createElement("div");
            mark.className = "delta";
            mark.textContent = `${delta >= 0 ? "+" : "−"}${percent(Math.abs(delta))}`;
            cell.append(mark);
          }
          if (metricInfo(metric).energy && row.estimated) {
            const mark = document.createElement("span");
            mark.className = "est";
            mark.textContent = "est.";
            cell.append(" ", mark);
          }
        },
      });
    });
  }
  renderTable(container, rows, columns, { searchText: (row) => `${row.summary} ${row.hash}` });
}

/** Whether a figure is on the first screen (or just below it). */
function nearView(figure: HTMLElement): boolean {
  return figure.getBoundingClientRect().top < window.innerHeight * 1.5;
}

function fail(error: unknown) {
  window.llemReport = { ready: false, plots: [], error: String(error) };
  console.error("llem report:", error);
  const banner = document.createElement("p");
  banner.className = "error";
  banner.textContent = `This report could not draw its tables and plots: ${String(error)}`;
  document.body.prepend(banner);
}

try {
  const parsed = performance.now();
  for (const container of document.querySelectorAll<HTMLElement>(".config-table"))
    configTable(container);
  for (const container of document.querySelectorAll<HTMLElement>(".compare-table"))
    compareTable(container);
  const tabled = performance.now();
  // The plots on the first screen are drawn now; the others one by one right after, each in its
  // own task, so the page shows (and scrolls) while a study of 18,944 configs is still drawing.
  // The one nearest the viewport goes next.
  const pending = [...document.querySelectorAll<HTMLElement>("figure[data-view]")].map(
    (figure) => ({ figure, draw: renderFigure(figure) }),
  );
  for (const item of pending.filter(({ figure }) => nearView(figure))) item.draw();
  let firstScreen = 0;
  requestAnimationFrame(() => {
    firstScreen = performance.now();
  });
  const rest = pending.filter(({ figure }) => !nearView(figure));
  const drawNext = () => {
    try {
      if (rest.length > 0) {
        const distance = (item: (typeof rest)[number]) =>
          Math.abs(item.figure.getBoundingClientRect().top);
        rest.sort((a, b) => distance(a) - distance(b));
        rest.shift()?.draw();
        setTimeout(drawNext, 0);
        return;
      }
      window.llemReport = {
        ready: true,
        plots: pending.map(({ figure }) => ({
          id: figure.id,
          ...(drawn.get(figure.id) ?? { markers: 0, linePoints: 0 }),
        })),
        timings: {
          data: parsed - started,
          tables: tabled - parsed,
          firstScreen: firstScreen || performance.now(),
          allPlots: performance.now(),
        },
      };
    } catch (error) {
      fail(error);
    }
  };
  setTimeout(drawNext, 0);
} catch (error) {
  fail(error);
}
