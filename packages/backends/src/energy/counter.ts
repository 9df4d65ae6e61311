/**
 * Arithmetic on cumulative energy counters (RAPL `energy_uj`, NVML total energy) and on power
 * samples. Pure functions, so the recorded and the live data go through the same code.
 */

export interface CounterStep {
  /** Energy between the two reads, in the counter's unit; null when it cannot be known. */
  delta: number | null;
  wrapped: boolean;
}

/**
 * Energy between two reads of a counter that wraps to 0 after `maxRange` (RAPL's
 * `max_energy_range_uj`). A counter that went down without a known range (NVML, whose counter
 * only resets when the driver reloads) gives null: a partial figure would be wrong, not rough.
 */
export function counterDelta(
  previous: number,
  current: number,
  maxRange: number | null,
): CounterStep {
  if (current >= previous) return { delta: current - previous, wrapped: false };
  if (maxRange !== null && maxRange > 0 && previous <= maxRange) {
    return { delta: maxRange - previous + current, wrapped: true };
  }
  return { delta: null, wrapped: false };
}

/**
 * True when a second wrap could have happened unseen between two reads `elapsedMs` apart: the
 * counter's whole range fits into the elapsed time at `maxPlausibleWatts`. Then one wrap and two
 * wraps give the same reading, and the delta is ambiguous.
 */
export function wrapIsAmbiguous(
  elapsedMs: number,
  maxRangeJoules: number,
  maxPlausibleWatts: number,
): boolean {
  return (elapsedMs / 1000) * maxPlausibleWatts >= maxRangeJoules;
}

/**
 * Energy in joules of one device's power samples over [fromMs, toMs]: trapezoids between samples,
 * and the first/last value held flat out to the window's edges (a sampler's first sample comes
 * one interval after the start). Returns null without samples.
 */
export function integratePower(
  samples: ReadonlyArray<{ t_ms: number; power_w: number }>,
  fromMs: number,
  toMs: number,
): number | null {
  if (samples.length === 0 || toMs <= fromMs) return samples.length === 0 ? null : 0;
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  let joules = (Math.max(0, first.t_ms - fromMs) / 1000) * first.power_w;
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    joules += (((a.power_w + b.power_w) / 2) * (b.t_ms - a.t_ms)) / 1000;
  }
  joules += (Math.max(0, toMs - last.t_ms) / 1000) * last.power_w;
  return joules;
}

export interface GapReport {
  count: number;
  longest_ms: number;
}

/** Intervals between consecutive sample times longer than `factor` × the nominal interval. */
export function findGaps(timesMs: readonly number[], intervalMs: number, factor = 2.5): GapReport {
  let count = 0;
  let longest = 0;
  for (let i = 1; i < timesMs.length; i++) {
    const gap = timesMs[i]! - timesMs[i - 1]!;
    if (gap > factor * intervalMs) {
      count += 1;
      longest = Math.max(longest, gap);
    }
  }
  return { count, longest_ms: longest };
}

/**
 * Sum of the devices' energy, or null if any device's energy is unknown: a total that silently
 * leaves out a device would be wrong while looking right. The per-device figures stay reported.
 */
export function totalEnergy(devices: ReadonlyArray<{ energy_j: number | null }>): number | null {
  if (devices.length === 0) return null;
  let sum = 0;
  for (const device of devices) {
    if (device.energy_j === null) return null;
    sum += device.energy_j;
  }
  return sum;
}

/**
 * Cumulative energy at `tMs`, linearly interpolated between the two points around it (held at
 * the first/last point outside them). Null for an empty series.
 */
export function cumulativeAt(
  points: ReadonlyArray<readonly [number, number]>,
  tMs: number,
): number | null {
  if (points.length === 0) return null;
  const first = points[0]!;
  const last = points[points.length - 1]!;
  if (tMs <= first[0]) return first[1];
  if (tMs >= last[0]) return last[1];
  let lo = 0;
  let hi = points.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (points[mid]![0] <= tMs) lo = mid;
    else hi = mid;
  }
  const [t0, e0] = points[lo]!;
  const [t1, e1] = points[hi]!;
  return t1 === t0 ? e1 : e0 + ((e1 - e0) * (tMs - t0)) / (t1 - t0);
}

/**
 * Energy between two moments of a window, off its cumulative series (counter readings, or
 * integrated samples): the steady state's energy comes from the very readings the whole
 * window's does. Null without a series or for a span outside it.
 */
export function energyBetween(
  points: ReadonlyArray<readonly [number, number]> | undefined,
  fromMs: number,
  toMs: number,
): number | null {
  if (!points || points.length === 0 || !(toMs >= fromMs)) return null;
  const last = points[points.length - 1]![0];
  if (fromMs < points[0]![0] || toMs > last) return null;
  return Math.max(0, cumulativeAt(points, toMs)! - cumulativeAt(points, fromMs)!);
}

/** The power samples of one device as a cumulative series (trapezoids, from 0 at `fromMs`). */
export function cumulativeFromPower(
  samples: ReadonlyArray<{ t_ms: number; power_w: number }>,
  fromMs: number,
  toMs: number,
): [number, number][] {
  if (samples.length === 0) return [];
  const points: [number, number][] = [[fromMs, 0]];
  let joules = 0;
  let previous = { t_ms: fromMs, power_w: samples[0]!.power_w };
  for (const sample of samples) {
    if (sample.t_ms <= fromMs) {
      previous = { t_ms: fromMs, power_w: sample.power_w };
      continue;
    }
    joules += (((previous.power_w + sample.power_w) / 2) * (sample.t_ms - previous.t_ms)) / 1000;
    points.push([sample.t_ms, joules]);
    previous = sample;
  }
  if (previous.t_ms < toMs) {
    joules += (previous.power_w * (toMs - previous.t_ms)) / 1000;
    points.push([toMs, joules]);
  }
  return points;
}

export interface UpdatePeriod {
  /** Median interval between the counter's observed changes; null if it changed too rarely. */
  period_ms: number | null;
  changes: number;
  polled_ms: number;
}

/**
 * How often a counter advances, found by polling it every `pollMs` until it has changed
 * `wantChanges` times or `budgetMs` is spent (as Zeus finds NVML's power update period): the
 * median interval between observed changes. Accurate to about `pollMs`.
 */
export async function detectUpdatePeriod(
  read: () => Promise<number | null>,
  clock: { now: () => number; sleep: (ms: number) => Promise<void> },
  { budgetMs = 1000, pollMs = 2, wantChanges = 4 } = {},
): Promise<UpdatePeriod> {
  const started = clock.now();
  let last = await read().catch(() => null);
  const changeTimes: number[] = [];
  // No counter (pre-Volta) or unreadable: nothing to time.
  if (last === null) return { period_ms: null, changes: 0, polled_ms: 0 };
  while (clock.now() - started < budgetMs && changeTimes.length < wantChanges) {
    await clock.sleep(pollMs);
    const value = await read().catch(() => null);
    if (value === null) continue;
    if (last !== null && value !== last) changeTimes.push(clock.now());
    last = value;
  }
  const intervals = changeTimes.slice(1).map((t, i) => t - changeTimes[i]!);
  intervals.sort((a, b) => a - b);
  return {
    period_ms: intervals.length === 0 ? null : intervals[Math.floor(intervals.length / 2)]!,
    changes: changeTimes.length,
    polled_ms: clock.now() - started,
  };
}
