/**
 * Draws one PlotSpec with uPlot (inlined in the page as the global `uPlot`).
 *
 * uPlot draws "aligned" data: one x array and, per series, a y array of the same length. A
 * scatter's series each have their own x values, so all points are merged into one x-sorted array
 * and each series gets its y where the point is its own and null elsewhere; lines span those
 * gaps. Axis ranges and ticks come from scale.ts, as in the SVG export. Hover finds the nearest
 * marker in pixels (uPlot's own cursor looks along x only) and shows its details.
 */
import type UPlot from "uplot";
import type { PlotSpec } from "../plots.js";
import { scaleFor } from "../scale.js";

declare const uPlot: typeof UPlot;

/** Lines with at most this many points also draw a dot at each (as the SVG does). */
const VERTEX_DOTS_UP_TO = 60;
const HOVER_RADIUS_PX = 12;

export interface DrawnPlot {
  destroy(): void;
  markers: number;
  linePoints: number;
}

/** `describe(seriesIndex, pointIndex)` gives the hover lines for a point. */
export function drawPlot(
  target: HTMLElement,
  plot: PlotSpec,
  describe: (series: number, point: number) => string[],
): DrawnPlot {
  const order: Array<{ x: number; series: number; point: number }> = [];
  plot.series.forEach((series, seriesIndex) => {
    series.x.forEach((x, point) => {
      order.push({ x, series: seriesIndex, point });
    });
  });
  order.sort((a, b) => a.x - b.x);
  const xs = order.map((item) => item.x);
  const columns = plot.series.map(() => new Array<number | null>(order.length).fill(null));
  order.forEach((item, position) => {
    const column = columns[item.series] as Array<number | null>;
    column[position] = plot.series[item.series]?.y[item.point] ?? null;
  });

  const xScale = scaleFor(
    plot.x,
    plot.series.flatMap((series) => series.x).concat(plot.xMarks.map((mark) => mark.at)),
  );
  const yScale = scaleFor(
    plot.y,
    plot.series.flatMap((series) => series.y).concat(plot.yMarks.map((mark) => mark.at)),
  );
  const axisFor = (scale: typeof xScale, label: string) => ({
    label,
    stroke: "#333",
    grid: { stroke: "#e6e6e6", width: 1 },
    ticks: { stroke: "#ccc", width: 1 },
    splits: () => scale.ticks.map((tick) => tick.at),
    values: () => scale.ticks.map((tick) => tick.label),
    size: 56,
  });
  const width = Math.max(320, target.clientWidth || 720);
  const options: UPlot.Options = {
    width,
    height: 360,
    scales: {
      x: { time: false, distr: xScale.log ? 3 : 1, log: 10, range: () => xScale.domain },
      y: { distr: yScale.log ? 3 : 1, log: 10, range: () => yScale.domain },
    },
    axes: [
      axisFor(xScale, plot.x.label + (plot.x.log ? " (log scale)" : "")),
      { ...axisFor(yScale, plot.y.label + (plot.y.log ? " (log scale)" : "")), size: 72 },
    ],
    legend: { show: true, live: false },
    cursor: { points: { show: false }, drag: { x: false, y: false } },
    series: [
      {},
      ...plot.series.map((series): UPlot.Series => {
        const dots = series.kind === "points" || series.x.length <= VERTEX_DOTS_UP_TO;
        return {
          label: series.label,
          stroke: series.color,
          width: series.kind === "points" ? 0 : 2,
          spanGaps: true,
          ...(series.dashed ? { dash: [6, 4] } : {}),
          ...(series.kind === "points" ? { paths: () => null } : {}),
          points: {
            show: dots,
            size: series.kind === "points" ? 8 : 5,
            width: 1.5,
            stroke: series.color,
            fill: series.hollow ? "#fff" : series.color,
          },
        };
      }),
    ],
    hooks: {
      draw: [
        (u) => {
          drawMarks(u, plot);
          target.dataset.drawn = "true";
        },
      ],
    },
  };
  const instance = new uPlot(options, [xs, ...columns] as UPlot.AlignedData, target);
  const tooltip = document.createElement("div");
  tooltip.className = "tooltip";
  tooltip.hidden = true;
  target.append(tooltip);
  instance.over.addEventListener("mousemove", (event) => {
    const hit = nearest(instance, plot, event.offsetX, event.offsetY);
    if (!hit) {
      tooltip.hidden = true;
      return;
    }
    tooltip.replaceChildren(
      ...describe(hit.series, hit.point).map((line, index) => {
        const row = document.createElement(index === 0 ? "strong" : "div");
        row.textContent = line;
        return row;
      }),
    );
    tooltip.hidden = false;
    const overLeft = instance.over.offsetLeft;
    const overTop = instance.over.offsetTop;
    tooltip.style.left = `${Math.min(overLeft + event.offsetX + 14, width - 260)}px`;
    tooltip.style.top = `${overTop + event.offsetY + 14}px`;
  });
  instance.over.addEventListener("mouseleave", () => {
    tooltip.hidden = true;
  });

  let markers = 0;
  let linePoints = 0;
  plot.series.forEach((series, index) => {
    const drawn = (instance.data[index + 1] ?? []).filter(
      (value) => value !== null && value !== undefined,
    ).length;
    if (series.kind === "points") markers += drawn;
    else linePoints += drawn;
  });
  return { destroy: () => instance.destroy(), markers, linePoints };
}

/** The series and point nearest to the cursor within HOVER_RADIUS_PX; markers win over lines. */
function nearest(u: UPlot, plot: PlotSpec, left: number, top: number) {
  let best: { series: number; point: number; distance: number } | undefined;
  plot.series.forEach((series, seriesIndex) => {
    if (u.series[seriesIndex + 1]?.show === false) return;
    const penalty = series.kind === "points" ? 0 : 4;
    series.x.forEach((x, point) => {
      const dx = u.valToPos(x, "x") - left;
      const dy = u.valToPos(series.y[point] as number, "y") - top;
      const distance = Math.sqrt(dx * dx + dy * dy) + penalty;
      if (distance <= HOVER_RADIUS_PX + penalty && (!best || distance < best.distance)) {
        best = { series: seriesIndex, point, distance };
      }
    });
  });
  return best;
}

/** The plot's reference lines (window, baseline): dotted, labelled, on the canvas. */
function drawMarks(u: UPlot, plot: PlotSpec) {
  if (plot.xMarks.length === 0 && plot.yMarks.length === 0) return;
  const { ctx, bbox } = u;
  const ratio = window.devicePixelRatio || 1;
  ctx.save();
  ctx.strokeStyle = "#444";
  ctx.fillStyle = "#444";
  ctx.lineWidth = ratio;
  ctx.setLineDash([2 * ratio, 3 * ratio]);
  ctx.font = `${10 * ratio}px sans-serif`;
  for (const mark of plot.xMarks) {
    const x = u.valToPos(mark.at, "x", true);
    ctx.beginPath();
    ctx.moveTo(x, bbox.top);
    ctx.lineTo(x, bbox.top + bbox.height);
    ctx.stroke();
    ctx.fillText(mark.label, x + 3 * ratio, bbox.top + 12 * ratio);
  }
  for (const mark of plot.yMarks) {
    const y = u.valToPos(mark.at, "y", true);
    ctx.beginPath();
    ctx.moveTo(bbox.left, y);
    ctx.lineTo(bbox.left + bbox.width, y);
    ctx.stroke();
    ctx.textAlign = "right";
    ctx.fillText(mark.label, bbox.left + bbox.width - 4 * ratio, y - 4 * ratio);
  }
  ctx.restore();
}
