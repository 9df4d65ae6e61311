/**
 * A PlotSpec as a standalone SVG document, for papers: drawn on the Node side from the same specs
 * the page draws, so `--svg-dir` needs no browser. Every config marker is a `<circle
 * class="point">` (hollow where the energy was estimated); every line a `<polyline class="line">`
 * whose `points` are the series' points; reference marks are dotted lines. Text is escaped, so a
 * hostile config name is shown, never interpreted. Pure.
 */
import { escapeMarkup } from "./escape.js";
import type { PlotSpec } from "./plots.js";
import { scaleFor } from "./scale.js";

const WIDTH = 760;
const HEIGHT = 460;
const LEFT = 76;
const RIGHT = 20;
const BOTTOM = 50;
/** Lines with at most this many points also draw a dot at each. */
const VERTEX_DOTS_UP_TO = 60;

function fixed(value: number): string {
  return value.toFixed(1);
}

/** Legend items laid out left to right, wrapping; returns the markup and the height it takes. */
function legend(plot: PlotSpec, top: number): { markup: string; height: number } {
  let x = LEFT;
  let y = top;
  const parts: string[] = [];
  for (const series of plot.series) {
    const width = 28 + Math.min(60, series.label.length) * 6.4;
    if (x + width > WIDTH - RIGHT && x > LEFT) {
      x = LEFT;
      y += 18;
    }
    const mark =
      series.kind === "points"
        ? `<circle cx="${fixed(x + 6)}" cy="${fixed(y - 4)}" r="4" fill="${series.hollow ? "#fff" : series.color}" stroke="${series.color}" stroke-width="1.5"/>`
        : `<line x1="${fixed(x)}" y1="${fixed(y - 4)}" x2="${fixed(x + 14)}" y2="${fixed(y - 4)}" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="5 3"' : ""}/>`;
    const label = series.label.length > 60 ? `${series.label.slice(0, 59)}…` : series.label;
    parts.push(
      `${mark}<text x="${fixed(x + 20)}" y="${fixed(y)}" font-size="12">${escapeMarkup(label)}</text>`,
    );
    x += width;
  }
  return { markup: parts.join(""), height: y - top + 18 };
}

export function plotToSvg(plot: PlotSpec): string {
  const allX = plot.series.flatMap((series) => series.x).concat(plot.xMarks.map((mark) => mark.at));
  const allY = plot.series.flatMap((series) => series.y).concat(plot.yMarks.map((mark) => mark.at));
  const xScale = scaleFor(plot.x, allX);
  const yScale = scaleFor(plot.y, allY);
  const key = legend(plot, 44);
  const top = 44 + key.height;
  const [left, right, bottom] = [LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM];
  const px = (value: number) => xScale.project(value, left, right);
  const py = (value: number) => yScale.project(value, bottom, top);
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif" data-plot-id="${escapeMarkup(plot.id)}">`,
    `<title>${escapeMarkup(plot.title)}</title>`,
    `<desc>${escapeMarkup(plot.caption)}</desc>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${LEFT}" y="24" font-size="15" font-weight="bold">${escapeMarkup(plot.title.length > 95 ? `${plot.title.slice(0, 94)}…` : plot.title)}</text>`,
    key.markup,
  ];
  // Grid and ticks.
  for (const tick of xScale.ticks) {
    const x = fixed(px(tick.at));
    out.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${bottom}" stroke="#e6e6e6"/>`);
    out.push(
      `<text x="${x}" y="${bottom + 16}" font-size="11" text-anchor="middle">${escapeMarkup(tick.label)}</text>`,
    );
  }
  for (const tick of yScale.ticks) {
    const y = fixed(py(tick.at));
    out.push(`<line x1="${left}" y1="${y}" x2="${right}" y2="${y}" stroke="#e6e6e6"/>`);
    out.push(
      `<text x="${left - 6}" y="${y}" font-size="11" text-anchor="end" dominant-baseline="middle">${escapeMarkup(tick.label)}</text>`,
    );
  }
  out.push(
    `<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#666"/>`,
  );
  out.push(
    `<text x="${(left + right) / 2}" y="${HEIGHT - 12}" font-size="12" text-anchor="middle">${escapeMarkup(plot.x.label + (plot.x.log ? " (log scale)" : ""))}</text>`,
  );
  out.push(
    `<text transform="translate(16 ${(top + bottom) / 2}) rotate(-90)" font-size="12" text-anchor="middle">${escapeMarkup(plot.y.label + (plot.y.log ? " (log scale)" : ""))}</text>`,
  );
  // Reference marks.
  for (const mark of plot.xMarks) {
    const x = fixed(px(mark.at));
    out.push(
      `<line class="mark" x1="${x}" y1="${top}" x2="${x}" y2="${bottom}" stroke="#444" stroke-dasharray="2 3"/><text x="${x}" y="${top + 12}" font-size="10" dx="3">${escapeMarkup(mark.label)}</text>`,
    );
  }
  for (const mark of plot.yMarks) {
    const y = fixed(py(mark.at));
    out.push(
      `<line class="mark" x1="${left}" y1="${y}" x2="${right}" y2="${y}" stroke="#444" stroke-dasharray="2 3"/><text x="${right - 4}" y="${y}" dy="-4" font-size="10" text-anchor="end">${escapeMarkup(mark.label)}</text>`,
    );
  }
  // Series: lines under markers.
  for (const series of plot.series.filter((item) => item.kind === "line")) {
    const points = series.x
      .map((x, index) => `${fixed(px(x))},${fixed(py(series.y[index] as number))}`)
      .join(" ");
    out.push(
      `<polyline class="line" points="${points}" fill="none" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="5 3"' : ""}><title>${escapeMarkup(series.label)}</title></polyline>`,
    );
    if (series.x.length <= VERTEX_DOTS_UP_TO) {
      series.x.forEach((x, index) => {
        out.push(
          `<circle class="vertex" cx="${fixed(px(x))}" cy="${fixed(py(series.y[index] as number))}" r="2.5" fill="${series.hollow ? "#fff" : series.color}" stroke="${series.color}"/>`,
        );
      });
    }
  }
  for (const series of plot.series.filter((item) => item.kind === "points")) {
    const fill = series.hollow ? "#fff" : series.color;
    series.x.forEach((x, index) => {
      out.push(
        `<circle class="point" cx="${fixed(px(x))}" cy="${fixed(py(series.y[index] as number))}" r="3.5" fill="${fill}" stroke="${series.color}" stroke-width="1.5"/>`,
      );
    });
  }
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
