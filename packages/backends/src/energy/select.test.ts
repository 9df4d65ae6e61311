import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LlemError } from "@llem/schema";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { NoneSampler } from "./none.js";
import { type NvmlRecording, replayNvmlBackend } from "./nvml-replay.js";
import { createSampler, probeSamplers } from "./select.js";
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
    expect(reason).toMatch(/^auto chose estimate \(CPU time × 10 W per core\)/);
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
    expect(reason).toMatch(/^auto chose rapl \(zones package-0 under .*\); nvml unavailable: /);
  });

  it("auto prefers nvml over rapl, and the sampler measures through the chosen backend", async () => {
    const clock = manualClock(1_000);
    const backend = replayNvmlBackend(counterRecording, { clock: clock.now });
    const { sampler, reason } = await createSampler(config("auto"), {
      powercapRoot: await raplTree(),
      nvml: async () => backend,
      ...clock,
    });
    expect(sampler.kind).toBe("nvml");
    expect(reason).toBe(
      "auto chose nvml: NVML replay of " +
        `${counterRecording.source}: 1 GPU(s): gpu0 constructed GPU`,
    );
    await sampler.start();
    for (let i = 0; i < 20; i++) await clock.tick(100);
    const m = await sampler.stop();
    expect(m.per_device[0]!.source).toBe("energy_counter");
    expect(m.energy_j).toBeGreaterThan(0);
    // The sampler owned the backend the probe opened, and closed it at stop().
    await expect(backend.read(0)).rejects.toThrow(/closed/);
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
