import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { findCpuTemperature } from "./cpu-temperature.js";
import { EstimateSampler } from "./estimate.js";
import { createSampler } from "./select.js";
import { manualClock } from "./test-support.js";

/** hwmon dirs as the kernel lays them out: name, tempN_input in m°C, optional tempN_label. */
async function hwmon(
  root: string,
  entry: string,
  name: string,
  temps: Record<string, [string | null, number]>,
) {
  const dir = join(root, entry);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "name"), `${name}\n`);
  for (const [n, [label, milli]] of Object.entries(temps)) {
    await writeFile(join(dir, `temp${n}_input`), `${milli}\n`);
    if (label) await writeFile(join(dir, `temp${n}_label`), `${label}\n`);
  }
  return dir;
}

describe("findCpuTemperature", () => {
  it("prefers the package sensor of coretemp over single cores and other drivers", async () => {
    const root = await tempDir();
    await hwmon(root, "hwmon0", "acpitz", { 1: [null, 27_800] });
    await hwmon(root, "hwmon1", "coretemp", {
      2: ["Core 0", 51_000],
      1: ["Package id 0", 55_000],
    });
    const sensor = findCpuTemperature(root);
    expect(sensor?.description).toBe("coretemp Package id 0");
    expect(sensor?.read()).toBe(55);
  });

  it("reads AMD's Tctl through k10temp", async () => {
    const root = await tempDir();
    await hwmon(root, "hwmon3", "k10temp", { 3: ["Tccd1", 60_250], 1: ["Tctl", 62_125] });
    expect(findCpuTemperature(root)?.read()).toBe(62.125);
  });

  it("is null without a CPU sensor (a VM) and the reading is null once the file is gone", async () => {
    const root = await tempDir();
    expect(findCpuTemperature(join(root, "absent"))).toBeNull();
    await hwmon(root, "hwmon0", "nvme", { 1: ["Composite", 40_000] });
    expect(findCpuTemperature(root)).toBeNull();
    await writeFile(join(root, "hwmon0", "name"), "coretemp\n");
    const sensor = findCpuTemperature(root)!;
    await writeFile(join(root, "hwmon0", "temp1_input"), "not a number\n");
    expect(sensor.read()).toBeNull();
  });
});

describe("CPU samplers record the temperature at the window's edges", () => {
  it("estimate: start and end temperature of the package", async () => {
    const root = await tempDir();
    const dir = await hwmon(root, "hwmon1", "coretemp", { 1: ["Package id 0", 45_000] });
    const clock = manualClock();
    const sampler = new EstimateSampler({
      sampleIntervalMs: 100,
      wattsPerCore: 10,
      cpuTimeUs: () => 0,
      cpuTemperature: findCpuTemperature(root),
      ...clock,
    });
    await sampler.start();
    await writeFile(join(dir, "temp1_input"), "58000\n");
    await clock.tick(100);
    const m = await sampler.stop();
    expect(m.temperatures).toEqual([{ device: "cpu", start_c: 45, end_c: 58 }]);
  });

  it("createSampler wires the sensor from hwmonRoot into rapl and estimate", async () => {
    const root = await tempDir();
    await hwmon(root, "hwmon1", "coretemp", { 1: ["Package id 0", 47_000] });
    const { sampler } = await createSampler(
      { sampler: "estimate", sample_interval_ms: 100, cpu_watts_per_core: 10 },
      { hwmonRoot: root, ...manualClock() },
    );
    await sampler.start();
    const m = await sampler.stop();
    expect(m.temperatures).toEqual([{ device: "cpu", start_c: 47, end_c: 47 }]);

    const powercap = await tempDir();
    await mkdir(join(powercap, "intel-rapl:0"));
    await writeFile(join(powercap, "intel-rapl:0", "name"), "package-0\n");
    await writeFile(join(powercap, "intel-rapl:0", "energy_uj"), "1\n");
    const rapl = await createSampler(
      { sampler: "rapl", sample_interval_ms: 100, cpu_watts_per_core: 10 },
      { hwmonRoot: root, powercapRoot: powercap, ...manualClock() },
    );
    await rapl.sampler.start();
    expect((await rapl.sampler.stop()).temperatures).toEqual([
      { device: "cpu", start_c: 47, end_c: 47 },
    ]);
  });
});
