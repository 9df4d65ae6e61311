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
