import { type GpuSelection, LlemError } from "@llem/schema";
import type { NvmlDeviceInfo } from "../energy/nvml-backend.js";
import type { GpuAssignment } from "../engines/types.js";
import { type GivenGpus, givenGpus } from "./given-gpus.js";

/**
 * Resolves an experiment's `gpus:` to the physical GPUs it runs on and measures.
 *
 * CUDA and NVML may number GPUs differently (CUDA's default order is fastest-first), so an index
 * is never matched to an NVML index directly: the machine's GPUs are put in PCI bus order
 * (CUDA_DEVICE_ORDER=PCI_BUS_ID, SLURM's and nvidia-smi's order), and what the engine is given
 * are UUIDs, which mean the same thing to CUDA, NVML and container runtimes.
 *
 * Cases, for a machine with GPUs A (bus 1b) and B (bus 3b) and C (bus 5e):
 * - no CUDA_VISIBLE_DEVICES, `gpus: auto` → A, B, C; `gpus: [1]` → B.
 * - CUDA_VISIBLE_DEVICES=2,0 → given C, A; `auto` → C, A; `[0]` → C (an index counts within
 *   what the process was given).
 * - CUDA_VISIBLE_DEVICES=GPU-<B's uuid prefix> → given B; `["GPU-<C>"]` → an error (not given).
 * - CUDA_VISIBLE_DEVICES=MIG-<uuid on B> → the MIG instance, measured as the whole of B, warned.
 */

/** One physical GPU the experiment is placed on (its MIG instances listed where it is split). */
export interface PlacedGpu {
  /** NVML index on this machine. */
  index: number;
  uuid: string | null;
  name: string;
  pciBusId: string | null;
  memoryTotalBytes: number | null;
  /** The MIG instances placed on this GPU; empty for a whole GPU. */
  migInstances: string[];
  moduleScope: boolean;
}

export interface GpuPlacement {
  /** What the engine's process or container is given. */
  assignment: GpuAssignment;
  /** What the energy samplers measure: each physical GPU once, in placement order. */
  gpus: PlacedGpu[];
  /** How `gpus:` was read and what the process had been given, in words (for the result). */
  description: string;
  warnings: string[];
}

export interface ResolveGpusOptions {
  /** GPUs the engine's parallelism uses (tensor × pipeline); null when it has none. */
  expectedCount?: { count: number; fields: string[] } | null;
}

/** `00000000:3B:00.0` and `0000:3b:00.0` name one bus; compare them in one form. */
function busKey(id: string | null | undefined): string | null {
  if (!id) return null;
  const match = /^(?:([0-9a-fA-F]+):)?([0-9a-fA-F]+):([0-9a-fA-F]+)\.([0-9a-fA-F]+)$/.exec(
    id.trim(),
  );
  if (!match) return id.toLowerCase();
  const [, domain = "0", bus, device, fn] = match;
  const hex = (text: string, width: number) => text.toLowerCase().padStart(width, "0");
  return `${hex(domain, 8)}:${hex(bus!, 2)}:${hex(device!, 2)}.${fn!.toLowerCase()}`;
}

/** The machine's GPUs in PCI bus order (NVML order where a bus id is missing). */
export function pciOrder(inventory: readonly NvmlDeviceInfo[]): NvmlDeviceInfo[] {
  return [...inventory].sort((a, b) => {
    const ka = busKey(a.pciBusId);
    const kb = busKey(b.pciBusId);
    if (ka !== null && kb !== null && ka !== kb) return ka < kb ? -1 : 1;
    return a.index - b.index;
  });
}

interface Slot {
  gpu: NvmlDeviceInfo;
  /** The MIG instance, when the entry named one. */
  mig: string | null;
}

function placementError(message: string, details: Record<string, unknown> = {}): LlemError {
  return new LlemError("GPU_UNAVAILABLE", message, { details: { field: "gpus", ...details } });
}

/** A GPU or MIG instance by UUID (or a unique UUID prefix, as CUDA accepts) among `gpus`. */
function byUuid(gpus: readonly NvmlDeviceInfo[], id: string): Slot[] {
  const legacy = /^MIG-(GPU-[0-9A-Fa-f-]+)\/(\d+)\/(\d+)$/.exec(id);
  if (legacy) {
    const [, parent, gi, ci] = legacy;
    return gpus
      .filter((gpu) => gpu.uuid === parent)
      .flatMap((gpu) =>
        (gpu.mig ?? [])
          .filter((mig) => mig.gpuInstanceId === Number(gi) && mig.computeInstanceId === Number(ci))
          .map((mig) => ({ gpu, mig: mig.uuid })),
      );
  }
  if (id.startsWith("MIG-")) {
    return gpus.flatMap((gpu) =>
      (gpu.mig ?? [])
        .filter((mig) => mig.uuid.startsWith(id))
        .map((mig) => ({ gpu, mig: mig.uuid })),
    );
  }
  return gpus.filter((gpu) => gpu.uuid?.startsWith(id)).map((gpu) => ({ gpu, mig: null }));
}

function onlyOne(matches: Slot[], id: string, among: string): Slot {
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw placementError(`gpus: no GPU ${id} among ${among}`, { id });
  throw placementError(
    `gpus: ${id} matches ${matches.length} GPUs among ${among}; write more of the UUID`,
    { id },
  );
}

/** The GPUs the process was given, as slots in the given order. */
function givenSlots(
  given: GivenGpus,
  inventory: readonly NvmlDeviceInfo[],
  warnings: string[],
): Slot[] {
  const ordered = pciOrder(inventory);
  if (!given.restricted) return ordered.map((gpu) => ({ gpu, mig: null }));
  if (given.ignored.length > 0) {
    warnings.push(
      `${given.description}: CUDA stops at "${given.ignored[0]}", so ${given.ignored.join(",")} ${given.ignored.length === 1 ? "is" : "are"} ignored`,
    );
  }
  const slots: Slot[] = [];
  for (const entry of given.entries) {
    if (typeof entry === "number") {
      let gpu = ordered[entry];
      if (
        !gpu &&
        given.variable !== "CUDA_VISIBLE_DEVICES" &&
        given.entries.length === ordered.length
      ) {
        // A SLURM job whose cgroup hides the other GPUs: NVML numbers what it can see from 0.
        gpu = ordered[given.entries.indexOf(entry)];
      }
      if (!gpu) {
        throw placementError(
          `${given.description} names GPU ${entry}, but this machine has ${ordered.length} GPU(s)`,
        );
      }
      slots.push({ gpu, mig: null });
    } else {
      slots.push(
        onlyOne(byUuid(ordered, entry), entry, `this machine's GPUs (${given.description})`),
      );
    }
  }
  return slots;
}

/**
 * The GPUs of an experiment: `selection` (its `gpus:`, absent = auto) against what `env` gave
 * this process and the machine's GPUs (`inventory`, from NVML). Throws GPU_UNAVAILABLE naming
 * the field for a GPU that is not there or not given, and CONFIG_INVALID when the count differs
 * from the engine's parallelism.
 */
export function resolveGpus(
  selection: GpuSelection | undefined,
  env: NodeJS.ProcessEnv,
  inventory: readonly NvmlDeviceInfo[],
  options: ResolveGpusOptions = {},
): GpuPlacement {
  const warnings: string[] = [];
  const given = givenGpus(env);
  const available = givenSlots(given, inventory, warnings);
  let chosen: Slot[];
  let description: string;
  if (selection === undefined || selection === "auto") {
    chosen = available;
    description = `gpus: auto → ${given.description}`;
  } else {
    const among = `the ${available.length} GPU(s) this process was given (${given.description})`;
    chosen = selection.map((id, position) => {
      if (typeof id === "number") {
        const slot = available[id];
        if (!slot) {
          throw placementError(`gpus[${position}]: index ${id}, but ${among}`, { id });
        }
        return slot;
      }
      return onlyOne(
        byUuid(
          available.map((slot) => slot.gpu),
          id,
        ).filter((match) =>
          available.some(
            (slot) => slot.gpu === match.gpu && (slot.mig === null || slot.mig === match.mig),
          ),
        ),
        id,
        among,
      );
    });
    description = `gpus: ${JSON.stringify(selection)} within ${given.description}`;
  }

  const expected = options.expectedCount;
  if (expected && expected.count !== chosen.length) {
    throw new LlemError(
      "CONFIG_INVALID",
      `gpus: ${description} gives ${chosen.length} GPU(s), but ${expected.fields.join(" × ")} use ${expected.count}; list ${expected.count} GPU(s) in gpus or change the parallelism`,
      { details: { field: "gpus", gpus: chosen.length, parallel: expected.count } },
    );
  }

  const keys = chosen.map((slot) => `${slot.gpu.index}/${slot.mig ?? ""}`);
  if (new Set(keys).size !== keys.length) {
    throw placementError(`gpus: ${description} names one GPU twice`);
  }
  const models = new Set(inventory.map((gpu) => gpu.name));
  if (
    given.restricted &&
    given.entries.some((entry) => typeof entry === "number") &&
    env.CUDA_DEVICE_ORDER !== "PCI_BUS_ID" &&
    env.CUDA_DEVICE_ORDER !== undefined &&
    models.size > 1
  ) {
    warnings.push(
      `${given.description} uses indices with CUDA_DEVICE_ORDER=${env.CUDA_DEVICE_ORDER} on a machine with different GPU models: CUDA's index order may differ from PCI bus order, which llem used; write UUIDs or set CUDA_DEVICE_ORDER=PCI_BUS_ID`,
    );
  }

  const gpus: PlacedGpu[] = [];
  for (const slot of chosen) {
    let placed = gpus.find((gpu) => gpu.index === slot.gpu.index);
    if (!placed) {
      placed = {
        index: slot.gpu.index,
        uuid: slot.gpu.uuid,
        name: slot.gpu.name,
        pciBusId: slot.gpu.pciBusId ?? null,
        memoryTotalBytes: slot.gpu.memoryTotalBytes ?? null,
        migInstances: [],
        moduleScope: slot.gpu.moduleScope === true,
      };
      gpus.push(placed);
    }
    if (slot.mig) placed.migInstances.push(slot.mig);
  }
  for (const gpu of gpus) {
    if (gpu.migInstances.length > 0) {
      warnings.push(
        `gpu${gpu.index} (${gpu.name}) is placed as MIG instance(s) ${gpu.migInstances.join(", ")}: NVML measures energy per whole GPU, so the figure includes every other instance on it`,
      );
    }
  }
  const devices = chosen.map((slot) => slot.mig ?? slot.gpu.uuid ?? String(slot.gpu.index));
  return {
    assignment: { devices, cudaVisibleDevices: devices.join(",") },
    gpus,
    description,
    warnings,
  };
}

/**
 * `gpus:` on a machine where NVML cannot be opened: `auto` places nothing (a CPU run, the GPUs
 * are not measured: `reason` says why); an explicit list is GPU_UNAVAILABLE with the reason.
 */
export function placementWithoutNvml(
  selection: GpuSelection | undefined,
  reason: string,
): GpuPlacement | null {
  if (selection === undefined || selection === "auto" || selection.length === 0) {
    return selection !== undefined && selection !== "auto"
      ? {
          assignment: { devices: [], cudaVisibleDevices: "" },
          gpus: [],
          description: "gpus: [] (no GPU)",
          warnings: [],
        }
      : null;
  }
  throw placementError(
    `gpus: ${JSON.stringify(selection)} asks for GPUs, but NVML cannot list this machine's GPUs: ${reason}`,
  );
}
