import { LlemError } from "@llem/schema";
import { describe, expect, it } from "vitest";
import type { NvmlDeviceInfo } from "../energy/nvml-backend.js";
import { givenGpus } from "./given-gpus.js";
import { gpuProcessEnv, placeExperiment } from "./place.js";
import { resolveGpus } from "./resolve.js";

const UUID_A = "GPU-aaaaaaaa-1111-2222-3333-444444444444";
const UUID_B = "GPU-bbbbbbbb-1111-2222-3333-444444444444";
const UUID_C = "GPU-cccccccc-1111-2222-3333-444444444444";
const MIG_C1 = "MIG-c1c1c1c1-0000-1111-2222-333333333333";
const MIG_C2 = "MIG-c2c2c2c2-0000-1111-2222-333333333333";

/**
 * Three GPUs whose NVML indices are NOT in PCI bus order (NVML promises no order), so a mapping
 * by index alone would pick the wrong board: PCI order is B (1b), C (3b), A (5e).
 */
const inventory: NvmlDeviceInfo[] = [
  { index: 0, name: "H100", uuid: UUID_A, pciBusId: "00000000:5E:00.0" },
  { index: 1, name: "H100", uuid: UUID_B, pciBusId: "00000000:1B:00.0" },
  {
    index: 2,
    name: "H100",
    uuid: UUID_C,
    pciBusId: "0000:3b:00.0",
    mig: [
      { uuid: MIG_C1, gpuInstanceId: 1, computeInstanceId: 0 },
      { uuid: MIG_C2, gpuInstanceId: 2, computeInstanceId: 0 },
    ],
  },
];

const uuids = (placement: ReturnType<typeof resolveGpus>) => placement.gpus.map((g) => g.uuid);

describe("givenGpus (what the environment gives this process)", () => {
  it("parses CUDA_VISIBLE_DEVICES as CUDA does, stopping at the first invalid entry", () => {
    expect(givenGpus({ CUDA_VISIBLE_DEVICES: "2, 0" })).toMatchObject({ entries: [2, 0] });
    expect(givenGpus({ CUDA_VISIBLE_DEVICES: "0,x,1" })).toMatchObject({
      entries: [0],
      ignored: ["x", "1"],
    });
    expect(givenGpus({ CUDA_VISIBLE_DEVICES: "" })).toMatchObject({ entries: [], ignored: [] });
    expect(givenGpus({ CUDA_VISIBLE_DEVICES: "NoDevFiles" })).toMatchObject({ entries: [] });
    expect(givenGpus({ CUDA_VISIBLE_DEVICES: "-1" })).toMatchObject({ entries: [] });
    expect(givenGpus({ CUDA_VISIBLE_DEVICES: `${MIG_C1},GPU-aaaa` })).toMatchObject({
      entries: [MIG_C1, "GPU-aaaa"],
    });
  });

  it("falls back to SLURM's allocation, then to every GPU", () => {
    expect(givenGpus({ SLURM_JOB_GPUS: "1,3-4" })).toMatchObject({
      variable: "SLURM_JOB_GPUS",
      entries: [1, 3, 4],
    });
    expect(givenGpus({ SLURM_STEP_GPUS: "2", SLURM_JOB_GPUS: "0,1,2" })).toMatchObject({
      entries: [2],
    });
    expect(givenGpus({}).restricted).toBe(false);
  });
});

describe("resolveGpus", () => {
  it("auto with nothing set: every GPU in PCI bus order, given to the engine as UUIDs", () => {
    const placement = resolveGpus("auto", {}, inventory);
    expect(uuids(placement)).toEqual([UUID_B, UUID_C, UUID_A]);
    expect(placement.assignment).toEqual({
      devices: [UUID_B, UUID_C, UUID_A],
      cudaVisibleDevices: `${UUID_B},${UUID_C},${UUID_A}`,
    });
    expect(placement.gpus.map((g) => g.index)).toEqual([1, 2, 0]);
  });

  it("CUDA_VISIBLE_DEVICES of indices: PCI bus order, not NVML's index", () => {
    // CUDA index 0 under PCI_BUS_ID is the board on bus 1b, which NVML calls 1.
    const placement = resolveGpus(undefined, { CUDA_VISIBLE_DEVICES: "0,2" }, inventory);
    expect(uuids(placement)).toEqual([UUID_B, UUID_A]);
    // An index in gpus: counts within what the process was given.
    expect(uuids(resolveGpus([1], { CUDA_VISIBLE_DEVICES: "0,2" }, inventory))).toEqual([UUID_A]);
    expect(() => resolveGpus([2], { CUDA_VISIBLE_DEVICES: "0,2" }, inventory)).toThrow(
      /gpus\[0\]: index 2, but the 2 GPU\(s\) this process was given \(CUDA_VISIBLE_DEVICES=0,2\)/,
    );
  });

  it("CUDA_VISIBLE_DEVICES of UUIDs (prefixes too), and gpus: by UUID within them", () => {
    const env = { CUDA_VISIBLE_DEVICES: `GPU-cccc,${UUID_A}` };
    expect(uuids(resolveGpus("auto", env, inventory))).toEqual([UUID_C, UUID_A]);
    expect(uuids(resolveGpus([UUID_A], env, inventory))).toEqual([UUID_A]);
    const notGiven = (() => {
      try {
        resolveGpus([UUID_B], env, inventory);
      } catch (error) {
        return error;
      }
    })();
    expect(LlemError.hasCode(notGiven, "GPU_UNAVAILABLE")).toBe(true);
    expect((notGiven as Error).message).toMatch(/no GPU GPU-bbbbbbbb.* among the 2 GPU\(s\)/);
  });

  it("refuses an ambiguous UUID prefix", () => {
    const twins: NvmlDeviceInfo[] = [
      { index: 0, name: "x", uuid: "GPU-ab12-0" },
      { index: 1, name: "x", uuid: "GPU-ab12-1" },
    ];
    expect(() => resolveGpus(["GPU-ab12"], {}, twins)).toThrow(/matches 2 GPUs/);
  });

  it("MIG names (current and legacy forms): measured as the whole GPU, with a warning", () => {
    const placement = resolveGpus("auto", { CUDA_VISIBLE_DEVICES: MIG_C2 }, inventory);
    expect(placement.assignment.devices).toEqual([MIG_C2]);
    expect(placement.gpus).toEqual([
      expect.objectContaining({ uuid: UUID_C, index: 2, migInstances: [MIG_C2] }),
    ]);
    expect(placement.warnings[0]).toMatch(
      /gpu2 \(H100\) is placed as MIG instance\(s\) MIG-c2.*: NVML measures energy per whole GPU/,
    );
    const legacy = resolveGpus([`MIG-${UUID_C}/1/0`], {}, inventory);
    expect(legacy.gpus[0]).toMatchObject({ uuid: UUID_C, migInstances: [MIG_C1] });
    // Two instances of one GPU: one measured device.
    const both = resolveGpus([MIG_C1, MIG_C2], {}, inventory);
    expect(both.gpus).toHaveLength(1);
    expect(both.assignment.cudaVisibleDevices).toBe(`${MIG_C1},${MIG_C2}`);
  });

  it("SLURM's absolute indices, and a cgroup that hides the other GPUs", () => {
    expect(uuids(resolveGpus("auto", { SLURM_JOB_GPUS: "2" }, inventory))).toEqual([UUID_A]);
    // The job sees only its GPU, numbered 0 by NVML, while SLURM names it 2.
    const alone = [inventory[0]!];
    expect(uuids(resolveGpus("auto", { SLURM_JOB_GPUS: "2" }, alone))).toEqual([UUID_A]);
  });

  it("auto resolved to a count other than the parallelism is a config error naming both", () => {
    const error = (() => {
      try {
        resolveGpus("auto", {}, inventory, {
          expectedCount: { count: 2, fields: ["vllm.tensor_parallel_size 2"] },
        });
      } catch (e) {
        return e as LlemError;
      }
    })();
    expect(error?.code).toBe("CONFIG_INVALID");
    expect(error?.message).toMatch(
      /gives 3 GPU\(s\), but vllm\.tensor_parallel_size 2 use 2; list 2 GPU\(s\) in gpus/,
    );
  });

  it("warns where indices meet a non-PCI CUDA order on a mixed machine", () => {
    const mixed = [inventory[0]!, { ...inventory[1]!, name: "A100" }];
    const placement = resolveGpus(
      "auto",
      { CUDA_VISIBLE_DEVICES: "0", CUDA_DEVICE_ORDER: "FASTEST_FIRST" },
      mixed,
    );
    expect(placement.warnings[0]).toMatch(/CUDA's index order may differ from PCI bus order/);
  });

  it("gpus: [] places no GPU: the engine sees none", () => {
    const placement = resolveGpus([], {}, inventory);
    expect(placement.gpus).toEqual([]);
    expect(gpuProcessEnv(placement, {})).toEqual({
      CUDA_VISIBLE_DEVICES: "",
      CUDA_DEVICE_ORDER: "PCI_BUS_ID",
    });
  });
});

describe("placeExperiment", () => {
  const config = (gpus?: unknown) =>
    ({ engine: "llamacpp", gpus, llamacpp: {} }) as unknown as Parameters<
      typeof placeExperiment
    >[0];
  const noNvml = async (): Promise<never> => {
    throw new Error("libnvidia-ml could not be loaded: no NVIDIA driver");
  };

  it("without NVML: auto is a CPU run, an explicit list is an error saying why", async () => {
    expect(await placeExperiment(config(), {}, { nvml: noNvml })).toBeNull();
    await expect(placeExperiment(config([0]), {}, { nvml: noNvml })).rejects.toThrow(
      /gpus: \[0\] asks for GPUs, but NVML cannot list this machine's GPUs: libnvidia-ml/,
    );
  });

  it("gives the engine's process exactly its GPUs", async () => {
    const nvml = { description: "x", devices: () => inventory, read: noNvml, close() {} };
    const placement = await placeExperiment(config([UUID_A]), { CUDA_DEVICE_ORDER: "X" }, { nvml });
    expect(gpuProcessEnv(placement, { CUDA_DEVICE_ORDER: "X", PATH: "/bin" })).toEqual({
      CUDA_VISIBLE_DEVICES: UUID_A,
      CUDA_DEVICE_ORDER: "X",
      PATH: "/bin",
    });
  });
});
