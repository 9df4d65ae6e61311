import { LlemError } from "@llem/schema";

export interface Summary {
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  min: number;
  max: number;
  count: number;
}

function assertFinite(values: readonly number[], what: string): void {
  for (const value of values) {
    if (!Number.isFinite(value)) {
      throw new LlemError("INTERNAL", `${what}: every value must be a finite number, got ${value}`);
    }
  }
}

/**
 * Percentile by linear interpolation between order statistics (Hyndman & Fan type 7, the
 * default of NumPy and of R's quantile()): the p-th percentile of n sorted values sits at
 * rank h = (n − 1) × p / 100, between values ⌊h⌋ and ⌈h⌉. `sorted` must be ascending.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new LlemError("INTERNAL", "percentile of an empty list");
  if (!(p >= 0 && p <= 100))
    throw new LlemError("INTERNAL", `percentile must be in 0…100, got ${p}`);
  const rank = ((sorted.length - 1) * p) / 100;
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  const low = sorted[lower]!;
  return low + (sorted[upper]! - low) * (rank - lower);
}

/** Mean, p50/p95/p99 (see `percentile`), min, max and count; null for no values. */
export function summarize(values: readonly number[]): Summary | null {
  if (values.length === 0) return null;
  assertFinite(values, "summarize");
  const sorted = [...values].sort((a, b) => a - b);
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    mean: sum / sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    count: sorted.length,
  };
}

/**
 * Population standard deviation ÷ mean (as the earlier tool computed its warmup CV). Null with
 * fewer than two values or a mean of zero, where the ratio means nothing.
 */
export function coefficientOfVariation(values: readonly number[]): number | null {
  if (values.length < 2) return null;
  assertFinite(values, "coefficientOfVariation");
  let sum = 0;
  for (const value of values) sum += value;
  const mean = sum / values.length;
  if (mean === 0) return null;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  return Math.sqrt(squares / values.length) / Math.abs(mean);
}
