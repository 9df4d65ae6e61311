/**
 * Where a worker's experiments run: its own GPUs and its own CPU cores, so that each worker
 * measures only what it uses.
 *
 * - GPUs: the experiment processes get `CUDA_VISIBLE_DEVICES` = the worker's devices (and
 *   `CUDA_DEVICE_ORDER=PCI_BUS_ID`, so CUDA numbers devices as NVML does); the NVML sampler
 *   measures exactly those indices. A config's `gpus:` then indexes within the worker's devices.
 * - CPU: the experiment processes are pinned with `taskset -c` to the worker's cores.
 *
 * Examples, `llem run --workers N --gpus-per-worker K` on a node with 8 cores:
 *   N=2, K=0                      → w1 cpus 0-3, w2 cpus 4-7 (no GPUs)
 *   N=2, K=2, 4 GPUs              → w1 GPUs 0,1 + cpus 0-3; w2 GPUs 2,3 + cpus 4-7
 *   N=2, K=1, CUDA_VISIBLE_DEVICES=4,6 (given by a scheduler) → w1 GPU 4, w2 GPU 6
 *   N=4 on 2 cores                → not pinned (cores would be shared; said in a warning)
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { LlemError } from "@llem/schema";

export interface WorkerPlacement {
  /** `taskset -c` list of the worker's cores (absent: not pinned). */
  cpus?: string;
  /** The worker's GPUs as CUDA_VISIBLE_DEVICES entries (absent: whatever the process sees). */
  gpus?: string[];
}

export interface PlannedPlacements {
  placements: WorkerPlacement[];
  warnings: string[];
}

/** The cores this process may run on (its affinity), ascending. */
export function allowedCpus(): number[] {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(status)?.[1];
    if (line) return parseCpuList(line);
  } catch {
    // not Linux: no affinity information
  }
  return Array.from({ length: availableParallelism() }, (_, index) => index);
}

/** `0-3,8,10-11` → [0, 1, 2, 3, 8, 10, 11]. */
export function parseCpuList(list: string): number[] {
  const cpus = new Set<number>();
  for (const part of list.trim().split(",")) {
    if (part === "") continue;
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!match) throw new LlemError("USAGE", `"${list}" is not a CPU list (e.g. 0-3,8)`);
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (to < from) throw new LlemError("USAGE", `"${part}" in "${list}" counts down`);
    for (let cpu = from; cpu <= to; cpu++) cpus.add(cpu);
  }
  if (cpus.size === 0) throw new LlemError("USAGE", `"${list}" names no CPU`);
  return [...cpus].sort((a, b) => a - b);
}

/** [0, 1, 2, 3, 8] → `0-3,8`. */
export function formatCpuList(cpus: readonly number[]): string {
  const parts: string[] = [];
  let start: number | undefined;
  let last: number | undefined;
  for (const cpu of cpus) {
    if (start !== undefined && last !== undefined && cpu === last + 1) {
      last = cpu;
      continue;
    }
    if (start !== undefined) parts.push(start === last ? `${start}` : `${start}-${last}`);
    start = cpu;
    last = cpu;
  }
  if (start !== undefined) parts.push(start === last ? `${start}` : `${start}-${last}`);
  return parts.join(",");
}

/** The GPUs this process may hand out: CUDA_VISIBLE_DEVICES if set, else `count` indices. */
function visibleGpus(env: NodeJS.ProcessEnv, needed: number): string[] {
  const given = env.CUDA_VISIBLE_DEVICES?.trim();
  if (given !== undefined && given !== "") {
    return given
      .split(",")
      .map((device) => device.trim())
      .filter(Boolean);
  }
  return Array.from({ length: needed }, (_, index) => String(index));
}

/**
 * Placements for `workers` workers with `gpusPerWorker` GPUs each: consecutive slices of the
 * visible GPUs and of this process's cores. Refuses more GPUs than are visible (when
 * CUDA_VISIBLE_DEVICES says how many there are).
 */
export function planPlacements(
  workers: number,
  gpusPerWorker: number,
  env: NodeJS.ProcessEnv = process.env,
  cpus: readonly number[] = allowedCpus(),
): PlannedPlacements {
  const warnings: string[] = [];
  const gpus = gpusPerWorker > 0 ? visibleGpus(env, workers * gpusPerWorker) : [];
  if (gpusPerWorker > 0 && gpus.length < workers * gpusPerWorker) {
    throw new LlemError(
      "USAGE",
      `--workers ${workers} × --gpus-per-worker ${gpusPerWorker} needs ${workers * gpusPerWorker} GPUs, but CUDA_VISIBLE_DEVICES names ${gpus.length} (${env.CUDA_VISIBLE_DEVICES})`,
      { details: { field: "--gpus-per-worker" } },
    );
  }
  const perWorker = Math.floor(cpus.length / workers);
  if (perWorker === 0) {
    warnings.push(
      `${workers} workers on ${cpus.length} CPU cores: their experiments are not pinned (they would have to share cores), so CPU energy and time cannot be told apart per worker`,
    );
  }
  const placements = Array.from({ length: workers }, (_, index): WorkerPlacement => {
    const placement: WorkerPlacement = {};
    if (perWorker > 0 && workers > 1) {
      placement.cpus = formatCpuList(cpus.slice(index * perWorker, (index + 1) * perWorker));
    }
    if (gpusPerWorker > 0) {
      placement.gpus = gpus.slice(index * gpusPerWorker, (index + 1) * gpusPerWorker);
    }
    return placement;
  });
  return { placements, warnings };
}

/** The experiment processes' environment for a placement. */
export function placementEnv(
  base: NodeJS.ProcessEnv,
  placement: WorkerPlacement,
): NodeJS.ProcessEnv {
  if (placement.gpus === undefined) return base;
  return {
    ...base,
    CUDA_VISIBLE_DEVICES: placement.gpus.join(","),
    CUDA_DEVICE_ORDER: "PCI_BUS_ID",
  };
}

/** NVML indices to measure: the worker's GPUs when all are plain indices (UUIDs: undefined). */
export function gpuIndices(placement: WorkerPlacement): number[] | undefined {
  if (placement.gpus === undefined || placement.gpus.length === 0) return undefined;
  if (!placement.gpus.every((device) => /^\d+$/.test(device))) return undefined;
  return placement.gpus.map(Number);
}

/**
 * The name of a worker's idle-baseline cache: one per host and placement (the same devices on
 * the same host have the same idle power, whichever worker process measures them).
 */
export function baselineCacheName(host: string, placement: WorkerPlacement): string {
  const parts = [host];
  if (placement.gpus !== undefined) parts.push(`gpu${placement.gpus.join("+")}`);
  if (placement.cpus !== undefined) parts.push(`cpu${placement.cpus}`);
  const key = parts.join("_").replace(/[^A-Za-z0-9._+-]+/g, "-");
  return `baseline_cache.${key}.json`;
}
