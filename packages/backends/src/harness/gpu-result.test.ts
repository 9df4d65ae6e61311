import { readFileSync } from "node:fs";
import type { ExperimentConfigInput, ExperimentResult } from "@llem/schema";
import { beforeAll, describe, expect, it } from "vitest";
import type { NvmlBackend } from "../energy/nvml-backend.js";
import { type NvmlRecording, replayNvmlBackend } from "../energy/nvml-replay.js";
import { manualClock } from "../energy/test-support.js";
import { LlamaCppEngine } from "../engines/llamacpp/engine.js";
import type { Engine } from "../engines/types.js";
import { resolveGpus } from "../gpus/resolve.js";
import { runExperiment } from "./run-experiment.js";

/**
 * A GPU result end to end, without a GPU: real llama.cpp inference on the tiny synthetic model
 * (CPU), while NVML replays the CONSTRUCTED 4-GPU trace (make-constructed-gpu-fixtures.mjs:
 * NVML's counter semantics, not a recording) on a virtual clock the window's ticks advance.
 * Placement → sampler → assembly → result: the per-GPU blocks and their sum must be the trace's
 * counter deltas between the moments the sampler read it.
 */
const trace: NvmlRecording = JSON.parse(
  readFileSync(
    new URL("../energy/__fixtures__/nvml-counter-constructed-4gpu.json", import.meta.url),
    "utf8",
  ),
);

let cacheDir: string;
beforeAll(async () => {
  const { mkdtemp } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  cacheDir =
    process.env.LLEM_TEST_CACHE_DIR ?? (await mkdtemp(join(tmpdir(), "llem-backends-cache-")));
});

/** The replay, also remembering when each GPU was first and last read. */
function recordingReads(clock: { now: () => number }) {
  const replay = replayNvmlBackend(trace, { clock: clock.now });
  const reads = new Map<number, { first: number; last: number }>();
  const backend: NvmlBackend = {
    ...replay,
    description: replay.description,
    devices: () => replay.devices(),
    // The update-period detection polls the counter alone, before the window: not a window read.
    readEnergy: async (index) => (await replay.read(index)).energy_mj,
    async read(index) {
      const reading = await replay.read(index);
      const seen = reads.get(index);
      reads.set(index, { first: seen?.first ?? clock.now(), last: clock.now() });
      return reading;
    },
    close: () => replay.close(),
  };
  return { backend, reads };
}

const counterAt = (index: number, tMs: number) =>
  trace.readings.filter((r) => r.index === index && r.t_ms <= tMs).at(-1)!.energy_mj!;

/** A powercap tree with one package and its DRAM, whose counters `advance` moves on. */
async function powercap() {
  const { mkdir, writeFile, mkdtemp } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const root = await mkdtemp(join(tmpdir(), "llem-powercap-"));
  const pkg = join(root, "intel-rapl:0");
  const dram = join(pkg, "intel-rapl:0:0");
  await mkdir(dram, { recursive: true });
  await writeFile(join(pkg, "name"), "package-0\n");
  await writeFile(join(dram, "name"), "dram\n");
  for (const dir of [pkg, dram])
    await writeFile(join(dir, "max_energy_range_uj"), "262143328850\n");
  let step = 0;
  const advance = async () => {
    step += 1;
    // 45 W package, 6 W DRAM: µJ per 100 ms step.
    await writeFile(join(pkg, "energy_uj"), `${1_000_000 + step * 4_500_000}\n`);
    await writeFile(join(dram, "energy_uj"), `${2_000_000 + step * 600_000}\n`);
  };
  await advance();
  return { root, advance };
}

async function gpuExperiment(
  gpus: (number | string)[],
  startMs: number,
  cpu?: Awaited<ReturnType<typeof powercap>>,
) {
  const clock = manualClock(startMs);
  const { backend, reads } = recordingReads(clock);
  // The study runner places the experiment before it starts its process; here, with the
  // trace's machine as the inventory and an environment that narrows nothing.
  const placement = resolveGpus(gpus, {}, trace.devices);
  const config: ExperimentConfigInput = {
    task: { model: "synthetic:tiny", dataset: { n_prompts: 2 }, max_output_tokens: 4 },
    llamacpp: { threads: 1 },
    gpus,
    measurement: {
      energy: { sampler: cpu ? "auto" : "nvml" },
      baseline: { enabled: false },
      warmup: { enabled: false },
    },
  };
  const result = await runExperiment(config, {
    cacheDir,
    gpuPlacement: placement,
    samplerOptions: { nvml: backend, ...clock, ...(cpu ? { powercapRoot: cpu.root } : {}) },
    createEngine: (parsed): Engine => {
      const engine = new LlamaCppEngine(parsed, { cacheDir });
      // The window lasts 8 s of the trace: the sampler's loop ticks 80 times at 100 ms.
      const run = engine.run.bind(engine);
      engine.run = async (prompts, options) => {
        const requests = await run(prompts, options);
        for (let i = 0; i < 80; i++) {
          await cpu?.advance();
          await clock.tick(100);
        }
        return requests;
      };
      return engine;
    },
  });
  return { result, reads };
}

function expectAgreement(
  result: ExperimentResult,
  reads: Map<number, { first: number; last: number }>,
) {
  const gpuBlocks = result.energy.components!.filter((block) => block.component === "gpu");
  let traceSum = 0;
  for (const block of gpuBlocks) {
    const index = block.gpu!.index;
    const { first, last } = reads.get(index)!;
    const expected = (counterAt(index, last) - counterAt(index, first)) / 1000;
    traceSum += expected;
    expect(block.reading).toBe("energy_counter");
    expect(Math.abs(block.raw_j! - expected) / expected).toBeLessThan(0.001);
  }
  const gpuSum = result.energy.by_component!.find((sum) => sum.component === "gpu")!;
  expect(Math.abs(gpuSum.raw_j! - traceSum) / traceSum).toBeLessThan(0.001);
  expect(Math.abs(result.energy.raw_j! - traceSum) / traceSum).toBeLessThan(0.001);
  return { gpuBlocks, traceSum };
}

describe("a GPU result from the constructed 4-GPU trace", { timeout: 600_000 }, () => {
  it("two experiments on disjoint GPUs: each result holds only its GPUs, per GPU and summed", async () => {
    // PCI bus order of the trace's machine: idx1 (1b), idx2 (3b), idx0 (5e), idx3 (db).
    const a = await gpuExperiment([2, 0], 1_500); // NVML 0 and 1: the trace's experiment A
    const b = await gpuExperiment([trace.devices[2]!.uuid!, trace.devices[3]!.uuid!], 2_500);

    const shown = (result: ExperimentResult) =>
      result.energy.components!.map((block) => [block.device, block.gpu!.uuid]);
    expect(shown(a.result)).toEqual([
      ["gpu0", trace.devices[0]!.uuid],
      ["gpu1", trace.devices[1]!.uuid],
    ]);
    expect(shown(b.result)).toEqual([
      ["gpu2", trace.devices[2]!.uuid],
      ["gpu3", trace.devices[3]!.uuid],
    ]);
    const agreedA = expectAgreement(a.result, a.reads);
    const agreedB = expectAgreement(b.result, b.reads);
    // Neither experiment read the other's GPUs at all.
    expect([...a.reads.keys()].sort()).toEqual([0, 1]);
    expect([...b.reads.keys()].sort()).toEqual([2, 3]);

    expect(a.result.gpus).toEqual({
      description: expect.stringMatching(/^gpus: \[2,0\] within every GPU/),
      devices: [trace.devices[0]!.uuid, trace.devices[1]!.uuid],
      cuda_visible_devices: `${trace.devices[0]!.uuid},${trace.devices[1]!.uuid}`,
      measured: ["gpu0", "gpu1"],
    });
    expect(a.result.energy).toMatchObject({
      sampler: "nvml",
      method: "measured",
      headline: "gpu, raw",
      total: {
        components: ["gpu"],
        devices: ["gpu0", "gpu1"],
        method: "measured",
        not_covered: ['cpu_package, dram: not asked for (sampler: "nvml")'],
      },
    });
    expect(a.result.energy.energy_per_output_token_j).toBeCloseTo(
      agreedA.traceSum / a.result.tokens.output,
      6,
    );
    // GPUs under load in both traces: A's pair at ~600 W, B's at ~400 W, over 8 s.
    expect(agreedA.traceSum / 8 / 2).toBeGreaterThan(550);
    expect(agreedB.traceSum / 8 / 2).toBeLessThan(420);
    // Every figure of the result agrees with itself: no consistency warning.
    const codes = [...a.result.warnings, ...b.result.warnings].map((warning) => warning.code);
    expect(
      codes.filter((code) => code.startsWith("inconsistent") || code === "counter_power_disagree"),
    ).toEqual([]);
  });

  it("auto with RAPL readable: GPUs, CPU package and DRAM together, the total covering all three", async () => {
    const cpu = await powercap();
    const { result, reads } = await gpuExperiment([1], 1_500, cpu);
    expect(result.energy.samplers).toEqual(["nvml", "rapl"]);
    expect(result.energy.sampler).toBe("combined");
    expect(
      result.energy.components!.map((b) => [b.component, b.device, b.source, b.method]),
    ).toEqual([
      ["gpu", "gpu2", "nvml", "measured"],
      ["cpu_package", "package-0", "rapl", "measured"],
      ["dram", "dram-0", "rapl", "measured"],
    ]);
    const [gpu, pkg, dram] = result.energy.components!;
    const { first, last } = reads.get(2)!;
    const gpuExpected = (counterAt(2, last) - counterAt(2, first)) / 1000;
    expect(Math.abs(gpu!.raw_j! - gpuExpected) / gpuExpected).toBeLessThan(0.001);
    // 80 steps of the RAPL counters between the window's first and last read.
    expect(pkg!.raw_j).toBeCloseTo(80 * 4.5, 6);
    expect(dram!.raw_j).toBeCloseTo(80 * 0.6, 6);
    expect(result.energy.total).toMatchObject({
      components: ["gpu", "cpu_package", "dram"],
      method: "measured",
      not_covered: [],
    });
    expect(result.energy.raw_j).toBeCloseTo(gpu!.raw_j! + pkg!.raw_j! + dram!.raw_j!, 9);
    expect(result.energy.headline).toBe("gpu + cpu_package + dram, raw");
  });
});
