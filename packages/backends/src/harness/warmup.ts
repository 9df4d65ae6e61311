import type { ExperimentConfig } from "@llem/schema";
import { throwIfAborted } from "../aborted.js";
import type { Engine } from "../engines/types.js";
import { coefficientOfVariation } from "../metrics/stats.js";

export interface WarmupRecord {
  prompts: number;
  /** cv mode: whether the CV fell under the threshold; null in fixed mode or when disabled. */
  converged: boolean | null;
  finalCv: number | null;
  latenciesMs: number[];
}

/**
 * Warmup before the window: a fixed number of requests, or (cv mode) requests until the
 * coefficient of variation of the last `window_size` latencies drops under `cv_threshold`, at
 * most `max_prompts`. Requests run one at a time, so each latency is the engine's alone.
 */
export async function runWarmup(
  engine: Engine,
  config: ExperimentConfig,
  prompts: readonly string[],
  signal: AbortSignal | undefined,
  onRequest: (completed: number, total: number) => void,
): Promise<WarmupRecord> {
  const warmup = config.measurement.warmup;
  if (!warmup.enabled) return { prompts: 0, converged: null, finalCv: null, latenciesMs: [] };
  const latencies: number[] = [];
  const cap = warmup.mode === "fixed" ? warmup.n_warmup : warmup.max_prompts;
  let finalCv: number | null = null;
  for (let index = 0; index < cap; index++) {
    throwIfAborted(signal, "warmup");
    const measurement = await engine.warmup(prompts[index % prompts.length] as string, { signal });
    latencies.push(measurement.latencyMs);
    onRequest(index + 1, cap);
    if (warmup.mode === "cv" && latencies.length >= warmup.window_size) {
      finalCv = coefficientOfVariation(latencies.slice(-warmup.window_size));
      if (finalCv !== null && finalCv < warmup.cv_threshold)
        return { prompts: latencies.length, converged: true, finalCv, latenciesMs: latencies };
    }
  }
  if (warmup.mode === "cv")
    return { prompts: latencies.length, converged: false, finalCv, latenciesMs: latencies };
  return { prompts: latencies.length, converged: null, finalCv: null, latenciesMs: latencies };
}
