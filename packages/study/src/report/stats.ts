/**
 * The report's small statistics, pure (the browser bundle imports this file too).
 */
import type { Spread } from "./model.js";

/**
 * Mean, sample standard deviation (n − 1; 0 for one value), CV and range; null for no values.
 *
 *   spread([2, 4])  → { n: 2, mean: 3, sd: 1.414…, cv: 0.471…, min: 2, max: 4 }
 *   spread([5])     → { n: 1, mean: 5, sd: 0, cv: null, … }   (one cycle says nothing of spread)
 */
export function spread(values: readonly number[]): Spread | null {
  const n = values.length;
  if (n === 0) return null;
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const value of values) {
    sum += value;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const mean = sum / n;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(squares / (n - 1)) : 0;
  const cv = n > 1 && mean !== 0 ? sd / Math.abs(mean) : null;
  return { n, mean, sd, cv, min, max };
}

/**
 * The indices of the points no other point beats on both coordinates (the Pareto front), in
 * ascending x. `xBetter` says whether a larger x is better (throughput) or a smaller one (latency);
 * a smaller y is always better (J per token).
 *
 *   xs = [1, 2, 3], ys = [1, 2, 0.5], xBetter "higher" → [2]        (3 is fastest and cheapest)
 *   xs = [1, 2, 3], ys = [1, 0.8, 2], xBetter "higher" → [1, 2]     (a trade-off: both stay)
 *   xs = [1, 2],    ys = [3, 1],      xBetter "lower"  → [0, 1]
 *
 * Ties: of two identical points both stay; a point equal on one coordinate and worse on the
 * other is dominated.
 */
export function paretoFront(
  xs: readonly number[],
  ys: readonly number[],
  xBetter: "higher" | "lower",
): number[] {
  const order = xs.map((_, index) => index);
  const sign = xBetter === "higher" ? -1 : 1;
  // Best x first; among equal x, best (smallest) y first.
  order.sort(
    (a, b) =>
      sign * ((xs[a] as number) - (xs[b] as number)) || (ys[a] as number) - (ys[b] as number),
  );
  const front: number[] = [];
  let bestY = Number.POSITIVE_INFINITY;
  let lastX = Number.NaN;
  let lastY = Number.NaN;
  for (const index of order) {
    const x = xs[index] as number;
    const y = ys[index] as number;
    if (y < bestY || (x === lastX && y === lastY)) {
      front.push(index);
      bestY = Math.min(bestY, y);
      lastX = x;
      lastY = y;
    }
  }
  return front.sort((a, b) => (xs[a] as number) - (xs[b] as number));
}

/**
 * Linear-interpolation quantile of ascending `sorted` values (the definition result.json's
 * percentiles use): quantile([1, 2, 3, 4], 0.5) → 2.5.
 */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const low = Math.floor(position);
  const high = Math.ceil(position);
  const a = sorted[low] as number;
  const b = sorted[high] as number;
  return a + (b - a) * (position - low);
}

/**
 * A cumulative distribution of `samples` (any order) as at most `steps + 1` points
 * (value at fraction 0, 1/steps, … 1): a distribution of a million ITL gaps stays 101 numbers.
 */
export function cumulative(samples: number[], steps = 100): { ms: number[]; fraction: number[] } {
  const sorted = Float64Array.from(samples).sort();
  if (sorted.length === 0) return { ms: [], fraction: [] };
  const count = Math.min(steps, Math.max(1, sorted.length - 1));
  const ms: number[] = [];
  const fraction: number[] = [];
  for (let step = 0; step <= count; step++) {
    ms.push(quantile(sorted, step / count));
    fraction.push(step / count);
  }
  return { ms, fraction };
}

/**
 * At most `limit` points of a series: unchanged when short enough, else the mean of each of
 * `limit` equal runs of consecutive points (a power trace keeps its shape and its mean).
 */
export function downsample(
  xs: readonly number[],
  ys: readonly number[],
  limit: number,
): { xs: number[]; ys: number[] } {
  if (xs.length <= limit) return { xs: [...xs], ys: [...ys] };
  const outX: number[] = [];
  const outY: number[] = [];
  for (let bucket = 0; bucket < limit; bucket++) {
    const start = Math.floor((bucket * xs.length) / limit);
    const end = Math.floor(((bucket + 1) * xs.length) / limit);
    let sumX = 0;
    let sumY = 0;
    for (let index = start; index < end; index++) {
      sumX += xs[index] as number;
      sumY += ys[index] as number;
    }
    outX.push(sumX / (end - start));
    outY.push(sumY / (end - start));
  }
  return { xs: outX, ys: outY };
}

/** `value` rounded to `digits` significant figures (embedded data stays short, never lossy in display). */
export function round(value: number, digits = 6): number {
  if (!Number.isFinite(value) || value === 0) return value;
  return Number(value.toPrecision(digits));
}
