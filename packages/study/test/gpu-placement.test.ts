import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readManifest } from "@llem/manifest";
import { ExperimentResult } from "@llem/schema";
import { buildFakeNvml, hasCCompiler } from "@llem/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import { runStudy } from "../src/run-study.js";
import { collect, loadStudy, studyFixture, workerEnv } from "./helpers.js";

/**
 * Placement end to end on this GPU-less machine: the runner places each experiment through
 * NVML — the libnvidia-ml stand-in (packages/backends/src/energy/__fixtures__/fake-nvml.c, NOT
 * a GPU: its counters follow written rules) loaded by koffi — gives the experiment's process
 * exactly its GPU in CUDA_VISIBLE_DEVICES, and the experiment measures only that GPU. The
 * inference is real (llama.cpp on the CPU, tiny synthetic model).
 */
describe.skipIf(!hasCCompiler())("a study sweeping gpus", { timeout: 300_000 }, () => {
  afterEach(() => {
    delete process.env.FAKE_NVML_DEVICES;
  });

  it("runs each experiment on its own GPU and measures only that one", async () => {
    const library = await buildFakeNvml();
    // The stand-in reads this at nvmlInit, in the runner (placement) and in each experiment.
    process.env.FAKE_NVML_DEVICES = "4";
    const fixture = await studyFixture(
      `measurement:
  baseline: {duration_seconds: 1}
  warmup: {n_warmup: 1}
llamacpp: {threads: 1}
sweep:
  gpus: [[2], ["GPU-fa4e-3"]]
`,
      "gpus",
    );
    const yaml = (await readFile(fixture.file, "utf8")).replace(
      "max_output_tokens: 4}",
      "max_output_tokens: 48, dataset: {n_prompts: 16}}",
    );
    await writeFile(fixture.file, yaml);
    const { events, onEvent } = collect();
    const outcome = await runStudy(await loadStudy(fixture.file), {
      resultsDir: fixture.resultsDir,
      onEvent,
      env: workerEnv(fixture, { LLEM_NVML_LIBRARY: library, FAKE_NVML_DEVICES: "4" }),
    });
    const failures = events.flatMap((event) =>
      event.type === "run_finished" && event.error ? [event.error] : [],
    );
    expect(failures).toEqual([]);
    const manifest = await readManifest(outcome.studyDir);
    const results = await Promise.all(
      manifest.experiments.map(async (entry) =>
        ExperimentResult.parse(
          JSON.parse(await readFile(join(outcome.studyDir, entry.result_file!), "utf8")),
        ),
      ),
    );
    // The stand-in's rules: GPU 2 draws 300 W, GPU 3 150 W; counters step every 100 ms.
    const expected = [
      { uuid: "GPU-fa4e-2", device: "gpu2", watts: 300 },
      { uuid: "GPU-fa4e-3", device: "gpu3", watts: 150 },
    ];
    const baselineKeys = new Set<string>();
    for (const [i, result] of results.entries()) {
      const gpu = expected[i]!;
      // The process saw exactly its GPU; the result lists only it.
      expect(result.environment.cuda_visible_devices).toBe(gpu.uuid);
      expect(result.gpus).toMatchObject({ devices: [gpu.uuid], measured: [gpu.device] });
      const gpuBlocks = result.energy.components!.filter((block) => block.component === "gpu");
      expect(gpuBlocks.map((block) => [block.device, block.gpu?.uuid])).toEqual([
        [gpu.device, gpu.uuid],
      ]);
      const block = gpuBlocks[0]!;
      expect(block.gpu!.counter_update_period_ms).toBeGreaterThan(80);
      if (block.reading === "energy_counter") {
        // Whole counter steps of W × 100 ms.
        const steps = block.raw_j! / (gpu.watts / 10);
        expect(Math.abs(steps - Math.round(steps))).toBeLessThan(1e-9);
      } else {
        expect(block.raw_j).toBeCloseTo(gpu.watts * block.duration_s, 6);
      }
      expect(result.energy.total?.components).toContain("gpu");
      expect(result.energy.baseline?.key).toMatch(new RegExp(`^nvml:${gpu.uuid}`));
      baselineKeys.add(result.energy.baseline!.key!);
    }
    // One idle baseline per GPU set.
    expect(baselineKeys.size).toBe(2);
  });

  it("fails an experiment placed on a GPU the machine does not have, naming it", async () => {
    const library = await buildFakeNvml();
    const fixture = await studyFixture(
      "measurement: {baseline: {enabled: false}}\ngpus: [5]\n",
      "nogpu",
    );
    const { events, onEvent } = collect();
    await runStudy(await loadStudy(fixture.file), {
      resultsDir: fixture.resultsDir,
      onEvent,
      env: workerEnv(fixture, { LLEM_NVML_LIBRARY: library }),
    });
    const failures = events.flatMap((event) =>
      event.type === "run_finished" && event.error ? [event.error] : [],
    );
    expect(failures).toEqual([
      {
        type: "GPU_UNAVAILABLE",
        message: expect.stringMatching(
          /gpus\[0\]: index 5, but the 2 GPU\(s\) this process was given/,
        ),
      },
    ]);
  });
});
