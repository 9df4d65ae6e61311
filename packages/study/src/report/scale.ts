/**
 * Axis ranges and ticks, shared by the page (uPlot is given these ranges and splits) and the SVG
 * writer, so both draw a plot on the same axes. Linear axes get a little room and ticks at round
 * steps (1, 2, 5 × 10^k); log axes (values spanning ≥ 50×) ticks at decades (and 2, 5 within two
 * decades); categorical axes one tick per category at 0, 1, 2 … Pure.
 */
import { num } from "./format.js";
import type { PlotAxis } from "./plots.js";

export interface Scale {
  domain: [number, number];
  log: boolean;
  ticks: Array<{ at: number; label: string }>;
  project(value: number, from: number, to: number): number;
}

function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const residual = raw / magnitude;
  return (residual >= 5 ? 10 : residual >= 2 ? 5 : residual >= 1 ? 2 : 1) * magnitude;
}

/** A linear or log scale over `values` (with a little room), with ticks at round numbers. */
export function scaleFor(axis: PlotAxis, values: number[]): Scale {
  if (axis.categories) {
    const count = Math.max(1, axis.categories.length);
    return {
      domain: [-0.5, count - 0.5],
      log: false,
      ticks: axis.categories.map((label, at) => ({ at, label })),
      project: (value, from, to) => from + ((value + 0.5) / count) * (to - from),
    };
  }
  const finite = values.filter((value) => Number.isFinite(value) && (!axis.log || value > 0));
  let min = finite.length > 0 ? finite.reduce((a, b) => Math.min(a, b)) : 0;
  let max = finite.length > 0 ? finite.reduce((a, b) => Math.max(a, b)) : 1;
  if (axis.log) {
    min /= 1.25;
    max *= 1.25;
    const ticks: Array<{ at: number; label: string }> = [];
    const decades = Math.log10(max / min);
    for (
      let exponent = Math.floor(Math.log10(min));
      exponent <= Math.ceil(Math.log10(max));
      exponent++
    ) {
      for (const factor of decades <= 2 ? [1, 2, 5] : [1]) {
        const at = factor * 10 ** exponent;
        if (at >= min && at <= max) ticks.push({ at, label: num(at) });
      }
    }
    const [lo, hi] = [Math.log10(min), Math.log10(max)];
    return {
      domain: [min, max],
      log: true,
      ticks,
      project: (value, from, to) => from + ((Math.log10(value) - lo) / (hi - lo)) * (to - from),
    };
  }
  if (min === max) {
    min -= Math.abs(min) * 0.1 || 1;
    max += Math.abs(max) * 0.1 || 1;
  }
  const pad = (max - min) * 0.05;
  const lo = min >= 0 && min - pad < 0 ? 0 : min - pad;
  const hi = max + pad;
  const step = niceStep(hi - lo, 6);
  const ticks: Array<{ at: number; label: string }> = [];
  for (let at = Math.ceil(lo / step) * step; at <= hi + step * 1e-9; at += step) {
    ticks.push({
      at: Math.abs(at) < step * 1e-9 ? 0 : at,
      label: num(Math.abs(at) < step * 1e-9 ? 0 : at),
    });
  }
  return {
    domain: [lo, hi],
    log: false,
    ticks,
    project: (value, from, to) => from + ((value - lo) / (hi - lo)) * (to - from),
  };
}
