import { z } from "zod";

/**
 * `gpus:` — the GPUs one experiment runs on and measures. Its own file because it is read in
 * three places: the experiment model (the field and a cross-field check), the study model (a
 * shared field) and @llem/backends (which resolves it on the machine).
 *
 * - `auto` (the default, also when the field is absent): what this llem process was given —
 *   `CUDA_VISIBLE_DEVICES`, else SLURM's allocation, else every GPU.
 * - a list of indices and/or UUIDs: `[0, 1]`, `["GPU-8f3c…"]`, `["MIG-…"]`. An index counts within
 *   what the process was given, in PCI bus order (nvidia-smi's order when nothing narrows it).
 * - `[]`: no GPU; the engine sees none.
 */

/** A GPU UUID as NVML and CUDA_VISIBLE_DEVICES spell it (a unique prefix is accepted), or a MIG instance. */
export const GPU_UUID_PATTERN =
  /^(GPU-[0-9A-Fa-f-]+|MIG-[0-9A-Fa-f-]+|MIG-GPU-[0-9A-Fa-f-]+\/\d+\/\d+)$/;

export const GpuId = z.union([
  z.int().min(0).describe("index within the GPUs this process was given, in PCI bus order"),
  z
    .string()
    .regex(
      GPU_UUID_PATTERN,
      "a GPU UUID (GPU-…) or MIG instance (MIG-…); write an index as a number",
    )
    .describe("GPU UUID (GPU-…, a unique prefix will do) or MIG instance (MIG-…)"),
]);
export type GpuId = z.infer<typeof GpuId>;

export const GpuSelection = z
  .union([
    z.literal("auto"),
    z
      .array(GpuId)
      .refine((ids) => new Set(ids).size === ids.length, "lists a GPU twice")
      .describe("[] places no GPU"),
  ])
  .describe(
    "GPUs the experiment runs on and measures: auto (what this process was given: CUDA_VISIBLE_DEVICES or SLURM's allocation), or a list of indices and UUIDs",
  );
export type GpuSelection = z.infer<typeof GpuSelection>;

/**
 * `gpus: auto` written out means the same as no `gpus:` at all; both hash as the field absent,
 * which also keeps the hashes of configs written before the field existed.
 */
export function withoutDefaultGpus<T extends { gpus?: GpuSelection | undefined }>(config: T): T {
  if (!("gpus" in config) || (config.gpus !== "auto" && config.gpus !== undefined)) return config;
  const { gpus: _auto, ...rest } = config;
  return rest as T;
}

/** Fields of an engine section that multiply into the number of GPUs the engine uses. */
const PARALLEL_FIELDS = ["tensor_parallel_size", "pipeline_parallel_size"] as const;

/**
 * How many GPUs the chosen engine's section says it uses (tensor × pipeline parallel, where the
 * section has those fields), with the fields that said so; null for an engine without them.
 */
export function parallelGpuCount(config: {
  engine: string;
  [section: string]: unknown;
}): { count: number; fields: string[] } | null {
  const section = config[config.engine];
  if (typeof section !== "object" || section === null) return null;
  let count = 1;
  const fields: string[] = [];
  for (const field of PARALLEL_FIELDS) {
    const value = (section as Record<string, unknown>)[field];
    if (typeof value !== "number") continue;
    count *= value;
    fields.push(`${config.engine}.${field} ${value}`);
  }
  return fields.length === 0 ? null : { count, fields };
}

/**
 * The cross-field check of `gpus`: an explicit list must hold exactly as many GPUs as the
 * engine's parallelism uses. (`auto` is checked when it is resolved on the machine.)
 */
export function gpuCountIssues(config: {
  engine: string;
  gpus?: GpuSelection | undefined;
  [section: string]: unknown;
}): { path: string[]; message: string }[] {
  if (!Array.isArray(config.gpus)) return [];
  const parallel = parallelGpuCount(config);
  if (parallel === null || parallel.count === config.gpus.length) return [];
  return [
    {
      path: ["gpus"],
      message: `lists ${config.gpus.length} GPU(s), but ${parallel.fields.join(" × ")} use ${parallel.count}; list ${parallel.count} GPU(s) or change the parallelism`,
    },
  ];
}
