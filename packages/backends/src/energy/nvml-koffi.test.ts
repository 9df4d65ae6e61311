import { existsSync } from "node:fs";
import { buildFakeNvml as fakeNvml, hasCCompiler as hasCompiler } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { NvmlSampler } from "./nvml.js";
import { openKoffiNvml } from "./nvml-koffi.js";

describe("openKoffiNvml", () => {
  // The project machine and CI have no NVIDIA driver; on a machine with one this would open it.
  it.skipIf(existsSync("/proc/driver/nvidia"))("says why when libnvidia-ml is absent", async () => {
    await expect(openKoffiNvml()).rejects.toThrow(
      /libnvidia-ml could not be loaded .*no NVIDIA driver/,
    );
  });

  // Needs a C compiler to build the stand-in library; the project machine and CI have gcc.
  describe.skipIf(!hasCompiler())(
    "through the FFI, against a libnvidia-ml stand-in",
    { timeout: 30_000 },
    () => {
      it("lists devices and marshals 64-bit counters, power and temperature", async () => {
        const nvml = await openKoffiNvml(await fakeNvml());
        try {
          expect(nvml.description).toMatch(/libnvidia-ml-fake\.so, driver 999\.99\.fake$/);
          const plain = { memoryTotalBytes: 80 * 2 ** 30, mig: [], moduleScope: false };
          expect(nvml.devices()).toEqual([
            {
              index: 0,
              name: "Fake H100",
              uuid: "GPU-fa4e-0",
              pciBusId: "00000000:10:00.0",
              ...plain,
            },
            {
              index: 1,
              name: "Fake P100",
              uuid: "GPU-fa4e-1",
              pciBusId: "00000000:11:00.0",
              ...plain,
            },
          ]);
          const first = await nvml.read(0);
          const second = await nvml.read(0);
          expect(first).toEqual({
            energy_mj: expect.any(Number),
            power_w: 250.5,
            temperature_c: 61,
            memory_used_bytes: expect.any(Number),
          });
          expect(first.memory_used_bytes).toBeGreaterThanOrEqual(2 ** 30);
          expect(first.energy_mj).toBeGreaterThan(2 ** 32);
          expect(second.energy_mj! - first.energy_mj!).toBe(1000);
          expect(await nvml.read(1)).toMatchObject({
            energy_mj: null,
            power_w: 123.456,
            temperature_c: 47,
          });
          expect(await nvml.readEnergy!(1)).toBeNull();
          await expect(nvml.read(7)).rejects.toThrow(/no GPU with NVML index 7/);
        } finally {
          nvml.close();
        }
      });

      it("can be opened again in the same process (probe, then sampler)", async () => {
        const library = await fakeNvml();
        (await openKoffiNvml(library)).close();
        const again = await openKoffiNvml(library);
        expect(again.devices()).toHaveLength(2);
        again.close();
      });

      it("drives the NVML sampler with the live timer: counter on one GPU, power on the other", async () => {
        const library = await fakeNvml();
        const sampler = new NvmlSampler({
          sampleIntervalMs: 20,
          backend: () => openKoffiNvml(library),
        });
        await sampler.start();
        await new Promise((resolve) => setTimeout(resolve, 150));
        const m = await sampler.stop();
        const [gpu0, gpu1] = m.per_device;
        expect(gpu0).toMatchObject({ device: "gpu0", source: "energy_counter", name: "Fake H100" });
        // +1 J per read of GPU 0 after the first: the count of reads is the energy.
        const gpu0Reads = m.samples.filter((s) => s.device === "gpu0").length;
        expect(gpu0!.energy_j).toBe(gpu0Reads - 1);
        expect(gpu1).toMatchObject({ device: "gpu1", source: "power_integration" });
        expect(gpu1!.energy_j).toBeCloseTo(123.456 * m.duration_s, 6);
        expect(m.temperatures).toEqual([
          { device: "gpu0", start_c: 61, end_c: 61 },
          { device: "gpu1", start_c: 47, end_c: 47 },
        ]);
        expect(m.warnings).toContainEqual(
          expect.stringMatching(/gpu1 \(Fake P100\): no total-energy counter/),
        );
      });

      it("lists MIG instances and C2C modules, and times a 100 ms counter through the FFI", async () => {
        process.env.FAKE_NVML_DEVICES = "4";
        let nvml: Awaited<ReturnType<typeof openKoffiNvml>>;
        try {
          nvml = await openKoffiNvml(await fakeNvml());
        } finally {
          delete process.env.FAKE_NVML_DEVICES;
        }
        try {
          const [, , h200, mig] = nvml.devices();
          expect(h200).toMatchObject({ uuid: "GPU-fa4e-2", moduleScope: true, mig: [] });
          expect(mig).toMatchObject({
            uuid: "GPU-fa4e-3",
            moduleScope: false,
            mig: [
              { uuid: "MIG-fa4e-3a", gpuInstanceId: 1, computeInstanceId: 0 },
              { uuid: "MIG-fa4e-3b", gpuInstanceId: 2, computeInstanceId: 0 },
            ],
          });
        } finally {
          nvml.close();
        }
      });

      it("measures a placed GPU over a 50 ms window with the live clock: integrated, not 0 J", async () => {
        process.env.FAKE_NVML_DEVICES = "4";
        const library = await fakeNvml();
        const sampler = new NvmlSampler({
          sampleIntervalMs: 20,
          backend: () => openKoffiNvml(library),
          gpus: [
            {
              index: 3,
              uuid: "GPU-fa4e-3",
              name: "Fake H200",
              pciBusId: null,
              memoryTotalBytes: null,
              migInstances: ["MIG-fa4e-3b"],
              moduleScope: false,
            },
          ],
        });
        try {
          await sampler.prepare();
        } finally {
          delete process.env.FAKE_NVML_DEVICES;
        }
        await sampler.start();
        await new Promise((resolve) => setTimeout(resolve, 50));
        const m = await sampler.stop();
        const device = m.per_device[0]!;
        expect(device.device).toBe("gpu3");
        // The stand-in's counter steps every 100 ms: detection found it (± the poll interval
        // and timer lateness on a loaded machine).
        const period = device.gpu!.counter_update_period_ms!;
        expect(period).toBeGreaterThan(80);
        expect(period).toBeLessThan(200);
        expect(device.energy_j).toBeGreaterThan(0);
        // A loaded machine can stretch the 50 ms sleep past one update; the virtual-clock replay
        // test (nvml.test.ts) covers that path exactly, this one the live FFI under it.
        if (m.duration_s * 1000 < period) {
          expect(device.source).toBe("power_integration");
          expect(device.energy_j).toBeCloseTo(150 * m.duration_s, 6);
          expect(m.warnings.join("\n")).toMatch(/shorter than one update of the energy counter/);
        }
      });
    },
  );
});
