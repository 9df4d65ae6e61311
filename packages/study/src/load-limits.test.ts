/**
 * Bounded inputs: a study file is read only if it is a regular file of at most 1 MiB, its YAML
 * aliases are bounded, and its size in configs is counted (and refused over
 * study_execution.max_runs) before anything is expanded.
 */
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LlemError } from "@llem/schema";
import { aliasBombYaml, tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { countCandidates } from "./expand.js";
import { loadStudy } from "./load.js";

async function studyFile(yaml: string): Promise<string> {
  const file = join(await tempDir("llem-study-limits-"), "study.yaml");
  await writeFile(file, yaml);
  return file;
}

async function loadError(file: string): Promise<LlemError> {
  const error = await loadStudy(file).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!LlemError.isInstance(error)) throw new Error(`expected an LlemError, got ${String(error)}`);
  return error;
}

const twelveAxes = Array.from(
  { length: 12 },
  (_, axis) =>
    `  ${["task.random_seed", "task.max_output_tokens", "task.max_input_tokens", "task.dataset.n_prompts", "llamacpp.batch_size", "llamacpp.threads", "llamacpp.gpu_layers", "llamacpp.context_size", "measurement.energy.sample_interval_ms", "measurement.warmup.n_warmup", "measurement.warmup.window_size", "measurement.warmup.max_prompts"][axis]}: [${Array.from({ length: 10 }, (_, i) => i + (axis === 7 ? 16 : axis === 8 ? 10 : axis === 10 ? 2 : axis === 6 ? 0 : 1)).join(", ")}]`,
).join("\n");

describe("study size: counted before expanding", () => {
  it("a 1 KB study that expands to 10^12 configs is refused, naming the product", {
    timeout: 60_000,
  }, async () => {
    const yaml = `task: {model: "synthetic:tiny"}\nsweep:\n${twelveAxes}\n`;
    expect(yaml.length).toBeLessThan(1500);
    const error = await loadError(await studyFile(yaml));
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toContain("study_execution.max_runs");
    expect(error.message).toContain(
      "1,000,000,000,000 configs × 1 cycle = 1,000,000,000,000 runs, over the limit of 100,000",
    );
    expect(error.message).toContain("10 (task.random_seed) × 10 (task.max_output_tokens)");
  });

  it("counts runs as configs × cycles; max_runs raises the limit", async () => {
    const body = `task: {model: "synthetic:tiny"}\nsweep:\n  llamacpp.batch_size: [1, 2, 3]\n`;
    const refused = await loadError(
      await studyFile(`${body}study_execution: {n_cycles: 2, max_runs: 5}\n`),
    );
    expect(refused.message).toMatch(/3 configs × 2 cycles = 6 runs, over the limit of 5/);
    const loaded = await loadStudy(
      await studyFile(`${body}study_execution: {n_cycles: 2, max_runs: 6}\n`),
    );
    expect(loaded.runs).toHaveLength(6);
  });

  it("the count is exact: groups count their variants' mini-grids, engines their own grids", async () => {
    const file = await studyFile(`
task: {model: "synthetic:tiny"}
engine: [llamacpp, vllm]
sweep:
  task.max_output_tokens: [4, 8]
  llamacpp.batch_size: [1, 2, 4]
  vllm.max_num_seqs: [8, 16]
  kv: [{}, {llamacpp.kv_cache_type: [q8_0, q4_0], llamacpp.threads: [1, 2]}]
experiments:
  - {engine: llamacpp, task: {model: "synthetic:small"}}
`);
    const loaded = await loadStudy(file);
    // llamacpp: 2 × 3 × (1 + 2 × 2) = 30; vllm: 2 × 2 = 4; one explicit experiment.
    expect(countCandidates(loaded.study)).toMatchObject({ configs: 35 });
    expect(loaded.configs.length + loaded.skipped.length + loaded.duplicates).toBe(35);
  });
});

describe("study files: only regular files, bounded", () => {
  it("a FIFO is refused at once, not waited on", { timeout: 30_000 }, async () => {
    const fifo = join(await tempDir("llem-study-fifo-"), "study.yaml");
    execFileSync("mkfifo", [fifo]);
    const error = await loadError(fifo);
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toBe(
      `study file ${fifo} is a FIFO (named pipe), not a regular file; expected a YAML file`,
    );
  });

  it("a device (/dev/zero) is refused without reading it", { timeout: 30_000 }, async () => {
    const error = await loadError("/dev/zero");
    expect(error.message).toMatch(
      /^study file \/dev\/zero is a character device, not a regular file/,
    );
  });

  it("a file over 1 MiB is refused with its size", async () => {
    const file = await studyFile(`# ${"x".repeat(1.5 * 1024 * 1024)}\ntask: {model: m}\n`);
    const error = await loadError(file);
    expect(error.message).toMatch(/is 1\.5 MiB, over the 1 MiB limit for a study file/);
  });

  it("a YAML alias bomb is bad input (CONFIG_PARSE), stopped before it expands", async () => {
    const bomb = aliasBombYaml();
    const error = await loadError(await studyFile(`${bomb}\ntask: {model: m}\n`));
    expect(error.code).toBe("CONFIG_PARSE");
    expect(error.message).toMatch(/invalid YAML: its aliases expand to more than 10,000 nodes/);
  });

  it("a sweep of 200,000 invalid values is reported, not a stack overflow", {
    timeout: 60_000,
  }, async () => {
    const values = Array(200_000).fill("-1").join(",");
    const error = await loadError(
      await studyFile(
        `task: {model: m}\nsweep:\n  llamacpp.batch_size: [${values}]\nstudy_execution: {max_runs: 1000000}\n`,
      ),
    );
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toMatch(/sweep\.llamacpp\.batch_size\[0\]: expected ≥ 1, got -1/);
  });
});
