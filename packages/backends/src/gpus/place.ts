import { type ExperimentConfig, parallelGpuCount } from "@llem/schema";
import type { NvmlBackend, NvmlBackendFactory, NvmlDeviceInfo } from "../energy/nvml-backend.js";
import { nvmlLibraryOf, openNvml } from "../energy/nvml-open.js";
import { type GpuPlacement, placementWithoutNvml, resolveGpus } from "./resolve.js";

/**
 * Placement of one experiment, where its process is started: the study runner calls
 * `placeExperiment` before it forks the experiment's process, gives that process
 * `gpuProcessEnv(placement)` and hands the placement to the experiment (which measures exactly
 * those GPUs). `runExperiment` called directly places its own experiment the same way.
 */

export interface PlaceOptions {
  /** NVML access (by default libnvidia-ml through koffi); tests inject recorded inventories. */
  nvml?: NvmlBackend | NvmlBackendFactory;
}

export type Inventory = { ok: true; gpus: NvmlDeviceInfo[] } | { ok: false; reason: string };

// The machine's GPUs do not change while a study runs: list them once per process (per library).
const inventories = new Map<string, Promise<Inventory>>();

async function listGpus(source: NvmlBackend | NvmlBackendFactory): Promise<Inventory> {
  if (typeof source !== "function") return { ok: true, gpus: source.devices() };
  try {
    const backend = await source();
    try {
      return { ok: true, gpus: backend.devices() };
    } finally {
      backend.close();
    }
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

function inventory(env: NodeJS.ProcessEnv, options: PlaceOptions): Promise<Inventory> {
  if (options.nvml) return listGpus(options.nvml);
  const library = nvmlLibraryOf(env);
  let listed = inventories.get(library ?? "");
  if (!listed) {
    listed = listGpus(() => openNvml(library));
    inventories.set(library ?? "", listed);
  }
  return listed;
}

/** The machine's GPUs as NVML lists them (from `env`'s LLEM_NVML_LIBRARY when set), or why not. */
export function machineGpus(env: NodeJS.ProcessEnv = process.env): Promise<Inventory> {
  return inventory(env, {});
}

/**
 * Resolves `config.gpus` against `env` (what this process was given) and the machine's GPUs
 * (NVML; from `env`'s LLEM_NVML_LIBRARY when set).
 * Null when `gpus` is auto and NVML cannot be opened (no NVIDIA GPU here: a CPU run).
 */
export async function placeExperiment(
  config: ExperimentConfig,
  env: NodeJS.ProcessEnv,
  options: PlaceOptions = {},
): Promise<GpuPlacement | null> {
  const listed = await inventory(env, options);
  if (!listed.ok) return placementWithoutNvml(config.gpus, listed.reason);
  return resolveGpus(config.gpus, env, listed.gpus, {
    expectedCount: parallelGpuCount(config),
  });
}

/**
 * The environment of a process that runs the placed experiment: CUDA_VISIBLE_DEVICES lists
 * exactly its GPUs (UUIDs), and CUDA_DEVICE_ORDER is PCI_BUS_ID unless already set, so CUDA
 * numbers them as NVML and nvidia-smi do. Without a placement the environment is unchanged.
 */
export function gpuProcessEnv(
  placement: GpuPlacement | null,
  base: NodeJS.ProcessEnv,
): NodeJS.ProcessEnv {
  if (!placement) return base;
  return {
    ...base,
    CUDA_VISIBLE_DEVICES: placement.assignment.cudaVisibleDevices,
    CUDA_DEVICE_ORDER: base.CUDA_DEVICE_ORDER ?? "PCI_BUS_ID",
  };
}
