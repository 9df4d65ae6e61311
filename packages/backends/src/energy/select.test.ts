import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LlemError } from "@llem/schema";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { NoneSampler } from "./none.js";
import { type NvmlRecording, replayNvmlBackend } from "./nvml-replay.js";
import { createSampler, probeComponents, probeSamplers } from "./select.js";
import { manualClock } from "./test-support.js";

const config = (sampler: "auto" | "nvml" | "rapl" | "estimate" | "none") => ({
  sampler,
  sample_interval_ms: 100,
  cpu_watts_per_core: 10,
});

async function raplTree(): Promise<string> {
  const root = await tempDir();
  const dir = join(root, "intel-rapl:0");
  await mkdir(dir);
  await writeFile(join(dir, "name"), "package-0\n");
  await writeFile(join(dir, "energy_uj"), "123\n");
  await writeFile(join(dir, "max_energy_range_uj"), "262143328850\n");
  return root;
}

const counterRecording: NvmlRecording = JSON.parse(
  readFileSync(
    new URL("./__fixtures__/nvml-counter-constructed-1gpu.json", import.meta.url),
    "utf8",
  ),
);

/** NVML as on a machine without the driver (the default binding's own failure is tested in nvml-koffi). */
const noNvml = async (): Promise<never> => {
  throw new Error(
    "libnvidia-ml could not be loaded (libnvidia-ml.so.1: not found): no NVIDIA driver",
  );
};

describe("createSampler", () => {
  it("auto falls back to the estimate and says why nvml and rapl were not used", async () => {
    const root = join(await tempDir(), "absent");
    const { sampler, reason } = await createSampler(config("auto"), {
      powercapRoot: root,
      nvml: noNvml,
    });
    expect(sampler.kind).toBe("estimate");
    expect(sampler.method).toBe("estimated");
    expect(reason).toMatch(
      /^auto chose estimate \(CPU time × 10 W per core\): nothing here can be measured/,
    );
    expect(reason).toMatch(/nvml unavailable: libnvidia-ml could not be loaded/);
    expect(reason).toContain(`rapl unavailable: no powercap tree at ${root}`);
  });

  it("auto prefers rapl when the powercap counters are readable", async () => {
    const root = await raplTree();
    const { sampler, reason } = await createSampler(config("auto"), {
      powercapRoot: root,
      nvml: noNvml,
    });
    expect(sampler.kind).toBe("rapl");
    expect(reason).toMatch(/^auto measures rapl \(zones package-0 under .*\); nvml unavailable: /);
  });

  it("auto measures the GPUs and the CPU together (RAPL + NVML), on one timer", async () => {
    const clock = manualClock(1_000);
    const backend = replayNvmlBackend(counterRecording, { clock: clock.now });
    const root = await raplTree();
    const { sampler, reason, key, notCovered } = await createSampler(config("auto"), {
      powercapRoot: root,
      nvml: async () => backend,
      counterUpdatePeriodMs: 100,
      ...clock,
    });
    expect(sampler.kind).toBe("combined");
    expect(sampler.method).toBe("measured");
    expect(reason).toMatch(
      /^auto measures nvml \(NVML replay of CONSTRUCTED.*: 1 GPU\(s\): gpu0 constructed GPU\) and rapl \(zones package-0 under /,
    );
    expect(key).toBe("nvml:gpu0+rapl:package-0");
    expect(notCovered).toEqual([]);
    await sampler.start();
    for (let i = 1; i <= 20; i++) {
      // The package draws 25 W: 2.5 J per 100 ms tick, written before each tick.
      await writeFile(join(root, "intel-rapl:0", "energy_uj"), `${123 + i * 2_500_000}\n`);
      await clock.tick(100);
    }
    const m = await sampler.stop();
    expect(m.samplers).toEqual(["nvml", "rapl"]);
    expect(m.per_device.map((d) => [d.device, d.kind, d.source])).toEqual([
      ["gpu0", "gpu", "energy_counter"],
      ["package-0", "cpu_package", "energy_counter"],
    ]);
    expect(m.per_device[1]!.energy_j).toBeCloseTo(50, 9);
    expect(m.energy_j).toBeCloseTo(m.per_device[0]!.energy_j! + 50, 9);
    // One shared loop drove both: 20 ticks each.
    expect(m.samples.filter((s) => s.device === "package-0")).toHaveLength(20);
    expect(m.samples.filter((s) => s.device === "gpu0")).toHaveLength(21);
    // The sampler owned the backend the probe opened, and closed it at stop().
    await expect(backend.read(0)).rejects.toThrow(/closed/);
  });

  it("auto with a placement of no GPU measures the CPU only, and says what is not covered", async () => {
    const { sampler, notCovered } = await createSampler(config("auto"), {
      powercapRoot: await raplTree(),
      nvml: async () => replayNvmlBackend(counterRecording, { clock: () => 0 }),
      gpus: [],
    });
    expect(sampler.kind).toBe("rapl");
    expect(notCovered).toEqual(["gpu: no GPU is placed on this experiment (gpus)"]);
  });

  it("a sampler list chooses the components, each required", async () => {
    const clock = manualClock(1_000);
    const chosen = await createSampler(
      { ...config("auto"), sampler: ["nvml", "estimate"] },
      {
        nvml: async () => replayNvmlBackend(counterRecording, { clock: clock.now }),
        counterUpdatePeriodMs: 100,
        ...clock,
      },
    );
    // An estimate in the list makes the total estimated, and the result says so.
    expect(chosen.sampler.method).toBe("estimated");
    expect(chosen.reason).toMatch(/^nvml \+ estimate requested: /);
    expect(chosen.notCovered).toEqual([
      'cpu_package, dram: not asked for (sampler: ["nvml","estimate"])',
    ]);
    const root = join(await tempDir(), "absent");
    const error = await createSampler(
      { ...config("auto"), sampler: ["nvml", "rapl"] },
      {
        powercapRoot: root,
        nvml: async () => replayNvmlBackend(counterRecording, { clock: clock.now }),
      },
    ).catch((e) => e);
    expect(LlemError.hasCode(error, "SAMPLER_UNAVAILABLE")).toBe(true);
    expect(error.message).toMatch(/"rapl" is not available on this machine: no powercap tree/);
  });

  it("refuses an explicitly requested sampler that is unavailable, naming the field", async () => {
    const root = join(await tempDir(), "absent");
    const error = await createSampler(config("rapl"), { powercapRoot: root }).catch((e) => e);
    expect(LlemError.hasCode(error, "SAMPLER_UNAVAILABLE")).toBe(true);
    expect(error.message).toMatch(
      /^measurement\.energy\.sampler: "rapl" is not available on this machine: no powercap tree/,
    );
    const nvml = await createSampler(config("nvml"), { nvml: noNvml }).catch((e) => e);
    expect(LlemError.hasCode(nvml, "SAMPLER_UNAVAILABLE")).toBe(true);
    expect(nvml.message).toMatch(/"nvml" is not available on this machine: libnvidia-ml/);
  });

  it("gives the requested estimate and none samplers", async () => {
    expect((await createSampler(config("estimate"))).sampler.kind).toBe("estimate");
    const none = await createSampler(config("none"));
    expect(none.sampler).toBeInstanceOf(NoneSampler);
    expect(none.reason).toBe("none requested: no energy is measured");
  });
});

describe("NoneSampler", () => {
  it("times the window but gives no energy, with a warning", async () => {
    const clock = manualClock();
    const { sampler } = await createSampler(config("none"), clock);
    await sampler.start();
    clock.skip(2_500);
    const m = await sampler.stop();
    expect(m).toMatchObject({
      sampler: "none",
      method: "none",
      energy_j: null,
      per_device: [],
      duration_s: 2.5,
      sample_count: 0,
      estimate_inputs: null,
    });
    expect(m.warnings).toEqual(["no energy measured: measurement.energy.sampler is none"]);
  });
});

describe("probeComponents", () => {
  it("says for each component whether it is measurable here and by what", async () => {
    const probes = await probeComponents({ powercapRoot: await raplTree(), nvml: noNvml });
    expect(probes.map((p) => [p.component, p.sampler, p.available, p.devices])).toEqual([
      ["gpu", "nvml", false, []],
      ["cpu_package", "rapl", true, ["package-0"]],
      ["dram", "rapl", false, []],
      ["cpu_estimate", "estimate", true, ["cpu_estimate"]],
    ]);
    expect(probes[2]!.reason).toMatch(/RAPL has no DRAM zone here/);
    expect(probes[3]!.method).toBe("estimated");
  });
});

describe("probeSamplers", () => {
  it("reports each sampler's availability with a reason", async () => {
    const probes = await probeSamplers({
      powercapRoot: await raplTree(),
      hwmonRoot: join(await tempDir(), "absent"),
      nvml: noNvml,
    });
    expect(probes.map((p) => [p.kind, p.available])).toEqual([
      ["nvml", false],
      ["rapl", true],
      ["estimate", true],
      ["none", true],
    ]);
    expect(probes[0]!.reason).toMatch(/libnvidia-ml could not be loaded/);
    expect(probes[1]!.detail).toMatch(/zones package-0 .*; no CPU temperature sensor/);
  });
});
