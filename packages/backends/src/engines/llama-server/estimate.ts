import type { ExperimentConfig } from "@llem/schema";
import { cpuDecodeRate, EFFECTIVE_WEIGHT_BYTES_PER_S, weightBytes } from "../llamacpp/estimate.js";
import type { EngineRateEstimate } from "../types.js";
import { llamaServerSlots } from "./section.js";

/** The embedded engine's CPU decode model (engines/llamacpp/estimate.ts), with HTTP on top. */
const PER_TOKEN_OVERHEAD_S = 0.25e-3;
const UNKNOWN_MODEL_OUTPUT_TOKENS_PER_S = 400;

const BASIS =
  `llama-server: ${PER_TOKEN_OVERHEAD_S * 1e3} ms per token + weights read at ` +
  `${EFFECTIVE_WEIGHT_BYTES_PER_S / 1e9} GB/s (the llamacpp engine's CPU decode model), ` +
  `${UNKNOWN_MODEL_OUTPUT_TOKENS_PER_S} tok/s where the model cannot be sized`;

export function estimateLlamaServerRate(
  config: ExperimentConfig,
  { baseDir }: { baseDir: string },
): EngineRateEstimate {
  const bytes = weightBytes(config.task.model, baseDir);
  if (bytes === undefined)
    return { outputTokensPerS: UNKNOWN_MODEL_OUTPUT_TOKENS_PER_S, basis: BASIS };
  const slots = Math.min(llamaServerSlots(config), config.workload.concurrency);
  return { outputTokensPerS: cpuDecodeRate(bytes, slots, PER_TOKEN_OVERHEAD_S), basis: BASIS };
}
