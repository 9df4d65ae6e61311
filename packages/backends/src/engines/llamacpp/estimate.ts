import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { type ExperimentConfig, llamaCppSection } from "@llem/schema";
import {
  isSyntheticModel,
  parseSyntheticSpec,
  syntheticParameterCount,
} from "../../models/synthetic.js";
import type { EngineRateEstimate } from "../types.js";

/**
 * A rough CPU decode model for `--dry-run`'s typical duration (no measurement of this machine
 * exists before a study runs): each generated token costs a fixed overhead plus streaming the
 * weights once from memory. Fitted to the synthetic presets on the 2-core project VM (within ~2×
 * of measured). Measured run times replace it once the study runs.
 */
const PER_TOKEN_OVERHEAD_S = 0.15e-3;
export const EFFECTIVE_WEIGHT_BYTES_PER_S = 20e9;
/** Where the weights cannot be sized (a path that does not exist yet): a small model's rate. */
const UNKNOWN_MODEL_OUTPUT_TOKENS_PER_S = 500;
const BYTES_PER_PARAMETER = { f32: 4, f16: 2, q8_0: 34 / 32, q4_0: 18 / 32 } as const;

const BASIS =
  `llamacpp: ${PER_TOKEN_OVERHEAD_S * 1e3} ms per token + weights read at ` +
  `${EFFECTIVE_WEIGHT_BYTES_PER_S / 1e9} GB/s (a CPU decode model), ` +
  `${UNKNOWN_MODEL_OUTPUT_TOKENS_PER_S} tok/s where the model cannot be sized`;

/** Weight bytes by model name and base dir: a study repeats few models over many configs. */
const weightBytesCache = new Map<string, number | undefined>();

/** Bytes of weights llem can tell without loading the model: synthetic specs exactly, GGUF files by size. */
export function weightBytes(model: string, baseDir: string): number | undefined {
  const key = `${baseDir}\0${model}`;
  if (weightBytesCache.has(key)) return weightBytesCache.get(key);
  let bytes: number | undefined;
  try {
    if (isSyntheticModel(model)) {
      const spec = parseSyntheticSpec(model);
      bytes = syntheticParameterCount(spec) * BYTES_PER_PARAMETER[spec.dtype];
    } else {
      const path = resolve(baseDir, model);
      if (existsSync(path)) bytes = statSync(path).size;
    }
  } catch {
    bytes = undefined; // an invalid model is preflight's to report; the estimate just skips it
  }
  weightBytesCache.set(key, bytes);
  return bytes;
}

/**
 * The CPU decode model's rate for `sequences` decoded together: one token costs
 * `perTokenOverheadS` plus a read of every weight; batching shares each read between sequences,
 * which on a CPU gains little (~1.5× at 8). Used by every engine that runs llama.cpp on a CPU.
 */
export function cpuDecodeRate(bytes: number, sequences: number, perTokenOverheadS: number): number {
  const perSequence = 1 / (perTokenOverheadS + bytes / EFFECTIVE_WEIGHT_BYTES_PER_S);
  return perSequence * Math.min(1.5, 1 + 0.07 * (sequences - 1));
}

export function estimateLlamaCppRate(
  config: ExperimentConfig,
  { baseDir }: { baseDir: string },
): EngineRateEstimate {
  const bytes = weightBytes(config.task.model, baseDir);
  if (bytes === undefined)
    return { outputTokensPerS: UNKNOWN_MODEL_OUTPUT_TOKENS_PER_S, basis: BASIS };
  const batch = llamaCppSection(config).batch_size;
  return { outputTokensPerS: cpuDecodeRate(bytes, batch, PER_TOKEN_OVERHEAD_S), basis: BASIS };
}
