import { writeFileSync } from "node:fs";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LlemError } from "@llem/schema";
import { runProcess, tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { discoverRapl, RaplSampler } from "./rapl.js";
import { manualClock } from "./test-support.js";

const INTEL_MAX_RANGE_UJ = 262_143_328_850;

interface ZoneSpec {
  energyUj: number;
  maxRangeUj?: number | null;
}

/** A powercap tree laid out like the kernel's: control dir, packages, subzones, psys, mmio. */
async function powercapTree(
  root: string,
  spec: { packages: ZoneSpec[]; dram?: ZoneSpec[]; psys?: boolean },
): Promise<void> {
  const zone = async (dir: string, name: string, z: ZoneSpec) => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "name"), `${name}\n`);
    await writeFile(join(dir, "energy_uj"), `${z.energyUj}\n`);
    if (z.maxRangeUj !== null) {
      await writeFile(join(dir, "max_energy_range_uj"), `${z.maxRangeUj ?? INTEL_MAX_RANGE_UJ}\n`);
    }
  };
  await mkdir(join(root, "intel-rapl"), { recursive: true });
  for (const [i, z] of spec.packages.entries()) {
    const dir = join(root, `intel-rapl:${i}`);
    await zone(dir, `package-${i}`, z);
    await zone(join(dir, `intel-rapl:${i}:0`), "core", { energyUj: 5 });
    const dram = spec.dram?.[i];
    if (dram) await zone(join(dir, `intel-rapl:${i}:1`), "dram", dram);
  }
  if (spec.psys)
    await zone(join(root, `intel-rapl:${spec.packages.length}`), "psys", { energyUj: 7 });
  await zone(join(root, "intel-rapl-mmio:0"), "package-0", { energyUj: 9 });
}

const setEnergy = (dir: string, value: number) => writeFile(join(dir, "energy_uj"), `${value}\n`);

describe("discoverRapl", () => {
  it("finds packages and their DRAM, and leaves out zones that would double-count", async () => {
    const root = await tempDir();
    await powercapTree(root, {
      packages: [{ energyUj: 1 }, { energyUj: 2 }],
      dram: [{ energyUj: 3 }],
      psys: true,
    });
    const found = discoverRapl(root);
    expect(found.available).toBe(true);
    if (!found.available) return;
    expect(found.zones.map((z) => [z.device, z.kind])).toEqual([
      ["package-0", "cpu_package"],
      ["dram-0", "dram"],
      ["package-1", "cpu_package"],
    ]);
    expect(found.detail).toContain("not counted: intel-rapl:2 (psys)");
  });

  it("explains a missing powercap tree", async () => {
    const root = join(await tempDir(), "no-such-dir");
    expect(discoverRapl(root)).toEqual({
      available: false,
      reason: expect.stringContaining(`no powercap tree at ${root} (ENOENT)`),
    });
  });

  it("explains a powercap tree without RAPL zones (a VM)", async () => {
    const root = await tempDir();
    await mkdir(join(root, "dtpm"));
    const found = discoverRapl(root);
    expect(found.available).toBe(false);
    if (!found.available) expect(found.reason).toMatch(/no RAPL zones \(intel-rapl:N\)/);
  });

  it("explains an energy_uj that is not a counter", async () => {
    const root = await tempDir();
    await powercapTree(root, { packages: [{ energyUj: 1 }] });
    await writeFile(join(root, "intel-rapl:0", "energy_uj"), "garbage\n");
    const found = discoverRapl(root);
    expect(found.available).toBe(false);
    if (!found.available)
      expect(found.reason).toMatch(/expected a non-negative integer of microjoules/);
  });

  it("explains root-only energy_uj files to an unprivileged user", async () => {
    const root = await tempDir();
    await chmod(root, 0o755);
    await powercapTree(root, { packages: [{ energyUj: 1 }] });
    await chmod(join(root, "intel-rapl:0", "energy_uj"), 0o400);
    let reason: string;
    if (process.getuid?.() === 0) {
      // Root reads anything, so the check runs in a child process as nobody, on the module bundled
      // into the test's own world-readable dir (esbuild is a root devDependency for this).
      const repo = fileURLToPath(new URL("../../../../", import.meta.url));
      const bundle = join(root, "rapl.mjs");
      const build = await runProcess(join(repo, "node_modules/.bin/esbuild"), [
        fileURLToPath(new URL("./rapl.ts", import.meta.url)),
        "--bundle",
        "--platform=node",
        "--format=esm",
        `--outfile=${bundle}`,
        "--log-level=error",
      ]);
      expect(build.stderr).toBe("");
      await writeFile(
        join(root, "probe.mjs"),
        `import { discoverRapl } from "./rapl.mjs";\nconsole.log(JSON.stringify(discoverRapl(process.argv[2])));\n`,
      );
      await chmod(bundle, 0o644);
      const child = await new Promise<string>((resolve, reject) => {
        import("node:child_process").then(({ execFile }) =>
          execFile(
            process.execPath,
            [join(root, "probe.mjs"), root],
            { uid: 65534, gid: 65534 },
            (error, stdout) => (error ? reject(error) : resolve(stdout)),
          ),
        );
      });
      reason = JSON.parse(child).reason;
    } else {
      const found = discoverRapl(root);
      reason = found.available ? "" : found.reason;
    }
    expect(reason).toContain("is not readable by this user");
    expect(reason).toContain("CVE-2020-8694");
  }, 30_000); // builds a bundle and starts a child process: slow on a loaded machine
});

describe("RaplSampler on a powercap tree rewritten between reads", () => {
  it("refuses to start without RAPL, with the reason", async () => {
    const root = join(await tempDir(), "absent");
    const error = await new RaplSampler({ root, sampleIntervalMs: 100 }).start().catch((e) => e);
    expect(LlemError.hasCode(error, "SAMPLER_UNAVAILABLE")).toBe(true);
    expect(error.message).toMatch(/^rapl sampler cannot start: no powercap tree/);
  });

  it("sums counter deltas per zone and derives power samples", async () => {
    const root = await tempDir();
    await powercapTree(root, { packages: [{ energyUj: 1_000_000 }], dram: [{ energyUj: 50_000 }] });
    const pkg = join(root, "intel-rapl:0");
    const dram = join(pkg, "intel-rapl:0:1");
    const clock = manualClock();
    const sampler = new RaplSampler({ root, sampleIntervalMs: 100, ...clock });
    await sampler.start();
    for (let i = 1; i <= 20; i++) {
      await setEnergy(pkg, 1_000_000 + i * 3_000_000); // 30 W
      await setEnergy(dram, 50_000 + i * 400_000); // 4 W
      await clock.tick(100);
    }
    const m = await sampler.stop();
    expect(m.per_device).toEqual([
      expect.objectContaining({
        device: "package-0",
        kind: "cpu_package",
        energy_j: 60,
        source: "energy_counter",
        scope: expect.stringMatching(/^CPU socket 0, cores and uncore \(every process on it/),
      }),
      expect.objectContaining({ device: "dram-0", kind: "dram", energy_j: 8 }),
    ]);
    // The counter readings through the window: the last is the zone's energy.
    expect(m.per_device[0]!.cumulative!.at(-1)![1]).toBe(60);
    expect(m.energy_j).toBe(68);
    expect(m).toMatchObject({
      sampler: "rapl",
      method: "measured",
      duration_s: 2,
      sample_count: 40,
    });
    const packagePower = m.samples.filter((s) => s.device === "package-0").map((s) => s.power_w);
    expect(packagePower.every((w) => Math.abs(w - 30) < 1e-9)).toBe(true);
    expect(m.warnings).toEqual([]);
  });

  it("handles a wraparound through max_energy_range_uj", async () => {
    const root = await tempDir();
    const start = INTEL_MAX_RANGE_UJ - 1_000_000;
    await powercapTree(root, { packages: [{ energyUj: start }] });
    const pkg = join(root, "intel-rapl:0");
    const clock = manualClock();
    const sampler = new RaplSampler({ root, sampleIntervalMs: 100, ...clock });
    await sampler.start();
    await setEnergy(pkg, INTEL_MAX_RANGE_UJ - 200_000);
    await clock.tick(100);
    await setEnergy(pkg, 2_000_000); // wrapped
    await clock.tick(100);
    await setEnergy(pkg, 4_500_000);
    await clock.tick(100);
    const m = await sampler.stop();
    expect(m.energy_j).toBeCloseTo(5.5, 9);
    expect(m.samples.map((s) => Math.round(s.power_w))).toEqual([8, 22, 25]);
  });

  it("spans missing reads with the counter and says so", async () => {
    const root = await tempDir();
    await powercapTree(root, { packages: [{ energyUj: 0 }] });
    const pkg = join(root, "intel-rapl:0");
    const clock = manualClock();
    const sampler = new RaplSampler({ root, sampleIntervalMs: 100, ...clock });
    await sampler.start();
    await setEnergy(pkg, 1_000_000);
    await clock.tick(100);
    await rm(join(pkg, "energy_uj")); // two unreadable moments
    await clock.tick(100);
    await clock.tick(100);
    await setEnergy(pkg, 4_000_000);
    await clock.tick(100);
    const m = await sampler.stop();
    expect(m.energy_j).toBe(4);
    expect(m.samples.map((s) => [s.t_ms, s.power_w])).toEqual([
      [100, 10],
      [400, 10],
    ]);
    expect(m.warnings).toEqual([expect.stringMatching(/2 of 6 reads of package-0 failed/)]);
  });

  it("reports a stalled sampling loop as a gap, energy intact", async () => {
    const root = await tempDir();
    await powercapTree(root, { packages: [{ energyUj: 0 }] });
    const pkg = join(root, "intel-rapl:0");
    const clock = manualClock();
    const sampler = new RaplSampler({ root, sampleIntervalMs: 100, ...clock });
    await sampler.start();
    await clock.tick(100);
    clock.skip(1_400); // the event loop was blocked for 1.4 s
    await setEnergy(pkg, 30_000_000);
    await clock.tick(100);
    const m = await sampler.stop();
    expect(m.energy_j).toBe(30);
    expect(m.warnings).toEqual([expect.stringMatching(/1 gap\(s\).*longest 1500 ms/)]);
  });

  it("gives no energy for a zone whose gap could hide a second wraparound", async () => {
    const root = await tempDir();
    // A 1 J counter range: at 1 kW it could wrap twice in 2 ms, so a 2 s gap is hopeless.
    await powercapTree(root, { packages: [{ energyUj: 0, maxRangeUj: 1_000_000 }] });
    const pkg = join(root, "intel-rapl:0");
    const clock = manualClock();
    const sampler = new RaplSampler({ root, sampleIntervalMs: 100, ...clock });
    await sampler.start();
    clock.skip(2_000);
    await setEnergy(pkg, 500_000);
    await clock.tick(100);
    const m = await sampler.stop();
    expect(m.energy_j).toBeNull();
    expect(m.per_device[0]!.energy_j).toBeNull();
    expect(m.warnings[0]).toMatch(
      /energy of package-0 is unknown: 2\.1 s passed between two counter reads/,
    );
  });

  it("gives no energy for a counter that went down without max_energy_range_uj", async () => {
    const root = await tempDir();
    await powercapTree(root, { packages: [{ energyUj: 9_000_000, maxRangeUj: null }] });
    const pkg = join(root, "intel-rapl:0");
    const clock = manualClock();
    const sampler = new RaplSampler({ root, sampleIntervalMs: 100, ...clock });
    await sampler.start();
    await setEnergy(pkg, 100);
    await clock.tick(100);
    const m = await sampler.stop();
    expect(m.energy_j).toBeNull();
    expect(m.warnings[0]).toMatch(/no max_energy_range_uj to unwrap it/);
  });

  it("measures with the live timer while another task rewrites the counters", async () => {
    const root = await tempDir();
    await powercapTree(root, { packages: [{ energyUj: 0 }, { energyUj: 0 }] });
    let value = 0;
    // Synchronous writes on this thread: the kernel updates energy_uj atomically, and an async
    // write from the threadpool could be read half-done, which sysfs never shows.
    const write = () => writeFileSync(join(root, "intel-rapl:0", "energy_uj"), `${value}\n`);
    const writer = setInterval(() => {
      value += 250_000;
      write();
    }, 5);
    const sampler = new RaplSampler({ root, sampleIntervalMs: 10 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await sampler.start();
    const startValue = value;
    await new Promise((resolve) => setTimeout(resolve, 150));
    clearInterval(writer);
    value += 250_000;
    write();
    const m = await sampler.stop();
    expect(m.per_device[0]!.energy_j).toBeCloseTo((value - startValue) / 1e6, 9);
    expect(m.per_device[1]!.energy_j).toBe(0);
    expect(m.sample_count).toBeGreaterThan(4);
    expect(m.samples.every((s) => s.t_ms > 0 && s.t_ms <= m.duration_s * 1000)).toBe(true);
  });
});
