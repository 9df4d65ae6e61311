import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readManifest } from "@llem/manifest";
import { ExperimentResult, StudyResult } from "@llem/schema";
import { describe, expect, it } from "vitest";
import { runStudy } from "../src/run-study.js";
import { collect, loadStudy, studyFixture, workerEnv } from "./helpers.js";

// Real llama.cpp inference on the tiny synthetic model, through the real worker process.
describe("runStudy with the real llamacpp engine", { timeout: 180_000 }, () => {
  it("measures a tiny synthetic study: valid results, one idle baseline reused, summary", async () => {
    const fixture = await studyFixture(
      `measurement:
  baseline: {duration_seconds: 1}
  warmup: {n_warmup: 1}
sweep: {llamacpp.batch_size: [1, 2]}
study_execution: {n_cycles: 2, experiment_order: interleave}
`,
      "real",
    );
    // studyFixture sets task: {model: synthetic:tiny, max_output_tokens: 4}; keep prompts few.
    const yaml = (await readFile(fixture.file, "utf8")).replace(
      "max_output_tokens: 4}",
      "max_output_tokens: 4, dataset: {n_prompts: 2}}",
    );
    await writeFile(fixture.file, yaml);
    const loaded = await loadStudy(fixture.file);
    const { events, onEvent } = collect();
    const outcome = await runStudy(loaded, {
      resultsDir: fixture.resultsDir,
      onEvent,
      env: workerEnv(fixture),
    });
    const failures = events.flatMap((event) =>
      event.type === "run_finished" && event.error ? [event.error] : [],
    );
    expect(failures).toEqual([]);
    expect(outcome.status).toBe("completed");
    const manifest = await readManifest(outcome.studyDir);
    const baselines = new Set<string>();
    const sources: string[] = [];
    for (const entry of manifest.experiments) {
      const dir = join(outcome.studyDir, entry.result_file!, "..");
      const result = ExperimentResult.parse(
        JSON.parse(await readFile(join(dir, "result.json"), "utf8")),
      );
      expect(result.tokens.output).toBeGreaterThan(0);
      expect(result.throughput.output_tokens_per_s).toBeGreaterThan(0);
      expect(result.latency.ttft_ms?.count).toBeGreaterThan(0);
      expect(result.config.llamacpp?.batch_size).toBe(
        loaded.configs.find((config) => config.configHash === entry.config_hash)?.config.llamacpp
          ?.batch_size,
      );
      if (result.energy.baseline) {
        baselines.add(result.energy.baseline.measured_at);
        sources.push(result.energy.baseline.source);
      }
      expect(await readFile(join(dir, "engine.log"), "utf8")).toBeDefined();
    }
    // The idle baseline is measured once per study and reused by the later experiments.
    // (This machine has no GPU or RAPL: the estimate sampler's baseline, ≈ 0 W but real.)
    expect(sources).toHaveLength(4);
    expect(baselines.size).toBe(1);
    expect(sources.filter((source) => source === "fresh")).toHaveLength(1);
    const summary = StudyResult.parse(JSON.parse(await readFile(outcome.summaryFile, "utf8")));
    expect(summary.configs).toHaveLength(2);
    for (const config of summary.configs) {
      expect(config.cycles_completed).toBe(2);
      expect(config.metrics.output_tokens_per_s?.n).toBe(2);
      expect(config.metrics.ttft_p50_ms?.n).toBe(2);
    }
    expect(events.some((event) => event.type === "run_progress")).toBe(true);
  });

  it("re-measures the idle baseline once it is older than cache_ttl_seconds", async () => {
    const fixture = await studyFixture(
      `measurement:
  baseline: {duration_seconds: 1, cache_ttl_seconds: 0}
  warmup: {enabled: false}
study_execution: {n_cycles: 2}
`,
      "stale",
    );
    const yaml = (await readFile(fixture.file, "utf8")).replace(
      "max_output_tokens: 4}",
      "max_output_tokens: 2, dataset: {n_prompts: 1}}",
    );
    await writeFile(fixture.file, yaml);
    const outcome = await runStudy(await loadStudy(fixture.file), {
      resultsDir: fixture.resultsDir,
      env: workerEnv(fixture),
    });
    expect(outcome.status).toBe("completed");
    const manifest = await readManifest(outcome.studyDir);
    const baselines = [];
    for (const entry of manifest.experiments) {
      const result = ExperimentResult.parse(
        JSON.parse(await readFile(join(outcome.studyDir, entry.result_file!), "utf8")),
      );
      baselines.push(result.energy.baseline);
    }
    expect(baselines.map((baseline) => baseline?.source)).toEqual(["fresh", "fresh"]);
    expect(baselines[0]?.measured_at).not.toBe(baselines[1]?.measured_at);
  });
});
