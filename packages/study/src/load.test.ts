import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { configHash, LlemError, studyDesignHash } from "@llem/schema";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { loadStudy } from "./load.js";

async function studyFile(yaml: string, name = "study.yaml"): Promise<string> {
  const dir = await tempDir("llem-study-load-");
  const file = join(dir, name);
  await writeFile(file, yaml);
  return file;
}

async function load(yaml: string) {
  return loadStudy(await studyFile(yaml));
}

async function loadError(yaml: string): Promise<LlemError> {
  return loadFileError(await studyFile(yaml));
}

async function loadFileError(file: string): Promise<LlemError> {
  const error = await loadStudy(file).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!LlemError.isInstance(error)) throw new Error(`expected an LlemError, got ${String(error)}`);
  return error;
}

const pick = (loaded: Awaited<ReturnType<typeof load>>, ...paths: string[]) =>
  loaded.configs.map(({ config }) =>
    paths.map((path) =>
      path
        .split(".")
        .reduce<unknown>((value, key) => (value as Record<string, unknown>)[key], config),
    ),
  );

describe("loadStudy: expansion (python-llem §2.2–2.7, §9.2)", () => {
  it("2 × 2 axes → 4 configs, last key fastest", async () => {
    const loaded = await load(`
study_name: axes
task: {model: "synthetic:tiny"}
sweep:
  llamacpp.batch_size: [1, 4]
  task.max_output_tokens: [8, 16]
`);
    expect(pick(loaded, "llamacpp.batch_size", "task.max_output_tokens")).toEqual([
      [1, 8],
      [1, 16],
      [4, 8],
      [4, 16],
    ]);
    expect(loaded.runs).toHaveLength(4);
    expect(loaded.skipped).toEqual([]);
    expect(loaded.configs[1]!.summary).toBe(
      "llamacpp / synthetic:tiny / batch=1 / max_output_tokens=16",
    );
    expect(loaded.configs.map((entry) => entry.index)).toEqual([0, 1, 2, 3]);
  });

  it("a scalar sweep value is a one-value axis", async () => {
    const loaded = await load(`
task: {model: "synthetic:tiny"}
sweep: {llamacpp.batch_size: 2}
`);
    expect(pick(loaded, "llamacpp.batch_size")).toEqual([[2]]);
  });

  it("engine given as a list: each engine its own grid, sections do not leak", async () => {
    const loaded = await load(`
task: {model: "synthetic:tiny"}
engine: [llamacpp, vllm]
llamacpp: {flash_attention: true}
vllm: {tensor_parallel_size: 2}
sweep:
  llamacpp.batch_size: [1, 8]
  llamacpp.threads: [1, 2]
  vllm.dtype: [float16, bfloat16]
  vllm.max_num_seqs: [64, 256]
`);
    expect(loaded.configs).toHaveLength(8);
    const llama = loaded.configs.slice(0, 4).map(({ config }) => config);
    const vllm = loaded.configs.slice(4).map(({ config }) => config);
    expect(llama.every((config) => config.engine === "llamacpp" && config.vllm === undefined)).toBe(
      true,
    );
    expect(llama.every((config) => config.llamacpp?.flash_attention)).toBe(true);
    expect(llama.map((config) => [config.llamacpp?.batch_size, config.llamacpp?.threads])).toEqual([
      [1, 1],
      [1, 2],
      [8, 1],
      [8, 2],
    ]);
    expect(vllm.every((config) => config.engine === "vllm" && config.llamacpp === undefined)).toBe(
      true,
    );
    expect(vllm.map((config) => [config.vllm?.dtype, config.vllm?.max_num_seqs])).toEqual([
      ["float16", 64],
      ["float16", 256],
      ["bfloat16", 64],
      ["bfloat16", 256],
    ]);
    expect(vllm.every((config) => config.vllm?.tensor_parallel_size === 2)).toBe(true);
  });

  it("without engine:, the engines named by scoped keys each get a grid (first-seen order)", async () => {
    const loaded = await load(`
task: {model: "m"}
sweep:
  vllm.dtype: [float16, bfloat16]
  sglang.dtype: [float16]
  task.max_output_tokens: [8, 16]
`);
    expect(pick(loaded, "engine", "task.max_output_tokens")).toEqual([
      ["vllm", 8],
      ["vllm", 16],
      ["vllm", 8],
      ["vllm", 16],
      ["sglang", 8],
      ["sglang", 16],
    ]);
  });

  it("engine given as a list without a sweep: one config per engine", async () => {
    const loaded = await load(`
task: {model: "m"}
engine: [llamacpp, vllm]
study_execution: {n_cycles: 2, experiment_order: sequential}
`);
    expect(pick(loaded, "engine")).toEqual([["llamacpp"], ["vllm"]]);
    expect(loaded.runs.map((run) => [run.configIndex, run.cycle])).toEqual([
      [0, 1],
      [0, 2],
      [1, 1],
      [1, 2],
    ]);
  });

  it("a scoped key for an engine the study does not run is an error naming the key", async () => {
    const error = await loadError(`
task: {model: "m"}
engine: llamacpp
sweep: {vllm.dtype: [float16]}
`);
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toContain("sweep.vllm.dtype");
  });

  it("groups: {} baseline, mini-grids, crossed with axes (groups outer)", async () => {
    const loaded = await load(`
task: {model: "synthetic:tiny"}
sweep:
  llamacpp.batch_size: [1, 2]
  kv_variants:
    - {}
    - {llamacpp.flash_attention: true}
    - {llamacpp.kv_cache_type: [q8_0, q4_0], llamacpp.flash_attention: true}
`);
    expect(
      pick(loaded, "llamacpp.batch_size", "llamacpp.flash_attention", "llamacpp.kv_cache_type"),
    ).toEqual([
      [1, false, "f16"],
      [2, false, "f16"],
      [1, true, "f16"],
      [2, true, "f16"],
      [1, true, "q8_0"],
      [2, true, "q8_0"],
      [1, true, "q4_0"],
      [2, true, "q4_0"],
    ]);
  });

  it("two groups cross each other; groups only also work", async () => {
    const loaded = await load(`
task: {model: "synthetic:tiny"}
sweep:
  sizes: [{llamacpp.batch_size: 1}, {llamacpp.batch_size: 4}]
  lengths: [{task.max_output_tokens: 8}, {task.max_output_tokens: 32, task.max_input_tokens: 64}]
`);
    expect(
      pick(loaded, "llamacpp.batch_size", "task.max_output_tokens", "task.max_input_tokens"),
    ).toEqual([
      [1, 8, 256],
      [1, 32, 64],
      [4, 8, 256],
      [4, 32, 64],
    ]);
  });

  it("a group of one engine's fields applies to that engine only", async () => {
    const loaded = await load(`
task: {model: "m"}
engine: [llamacpp, vllm]
sweep:
  llama_variants: [{}, {llamacpp.flash_attention: true}]
  vllm.dtype: [float16, bfloat16]
`);
    expect(pick(loaded, "engine")).toEqual([["llamacpp"], ["llamacpp"], ["vllm"], ["vllm"]]);
    expect(loaded.skipped).toEqual([]);
  });

  it("sweep + explicit experiments: sweep first, explicit appended with a shallow merge", async () => {
    const loaded = await load(`
task: {model: "synthetic:tiny", max_output_tokens: 8}
llamacpp: {threads: 1}
sweep:
  llamacpp.batch_size: [1, 2]
experiments:
  - {task: {model: "synthetic:small"}}
  - {engine: vllm, task: {model: "org/m"}, vllm: {dtype: float16}}
`);
    expect(pick(loaded, "engine", "task.model", "task.max_output_tokens")).toEqual([
      ["llamacpp", "synthetic:tiny", 8],
      ["llamacpp", "synthetic:tiny", 8],
      ["llamacpp", "synthetic:small", 64], // the entry's task: replaced the shared one whole
      ["vllm", "org/m", 64],
    ]);
    expect(loaded.configs[2]!.config.llamacpp?.threads).toBe(1);
    expect(loaded.configs[3]!.config.llamacpp).toBeUndefined();
  });

  it("explicit experiments alone do not add the shared fields as an experiment", async () => {
    const loaded = await load(`
task: {model: "synthetic:tiny"}
experiments:
  - {llamacpp: {batch_size: 2}}
  - {llamacpp: {batch_size: 3}}
`);
    expect(pick(loaded, "llamacpp.batch_size")).toEqual([[2], [3]]);
    expect(loaded.configs[0]!.summary).toBe("llamacpp / synthetic:tiny / batch=2");
  });

  it("identical configs run once (same config hash), with a warning", async () => {
    const loaded = await load(`
task: {model: "synthetic:tiny"}
sweep:
  llamacpp.kv_cache_type: [f16, q8_0]
  variants: [{}, {llamacpp.kv_cache_type: f16}]
`);
    // (f16,{}), (q8_0,{}), (f16,f16) = dup, (q8_0→f16) = dup of the first
    expect(pick(loaded, "llamacpp.kv_cache_type")).toEqual([["f16"], ["q8_0"]]);
    expect(loaded.duplicates).toBe(2);
    expect(loaded.warnings.join("\n")).toContain("2 generated config(s) repeat an earlier one");
    expect(new Set(loaded.configs.map((entry) => entry.configHash)).size).toBe(2);
  });

  it("invalid combinations are skipped with a reason; all invalid → NOTHING_TO_RUN", async () => {
    const loaded = await load(`
task: {model: "synthetic:tiny"}
workload: {mode: concurrent}
sweep:
  llamacpp.batch_size: [1, 4]
  workload.concurrency: [1, 4]
`);
    expect(pick(loaded, "llamacpp.batch_size", "workload.concurrency")).toEqual([
      [1, 1],
      [4, 1],
      [4, 4],
    ]);
    expect(loaded.skipped).toHaveLength(1);
    expect(loaded.skipped[0]!.summary).toBe(
      "llamacpp / synthetic:tiny / llamacpp.batch_size=1 / workload.concurrency=4",
    );
    expect(loaded.skipped[0]!.reason).toContain("concurrency 4 exceeds llamacpp.batch_size 1");

    const error = await loadError(`
task: {model: "synthetic:tiny"}
workload: {mode: concurrent, concurrency: 8}
sweep:
  llamacpp.batch_size: [1, 2]
`);
    expect(error.code).toBe("NOTHING_TO_RUN");
    expect(error.message).toContain("all 2 generated config(s) are invalid");
    expect(error.message).toContain("concurrency 8 exceeds llamacpp.batch_size 2");
  });

  it("an explicit experiment without an engine in a multi-engine study is skipped, not guessed", async () => {
    const loaded = await load(`
task: {model: "m"}
engine: [llamacpp, vllm]
sweep: {llamacpp.batch_size: [1]}
experiments: [{task: {model: "x"}}]
`);
    expect(loaded.skipped[0]!.reason).toContain("each explicit experiment names its own engine");
  });

  it("no model, no sweep, no experiments → NOTHING_TO_RUN", async () => {
    const error = await loadError("study_name: empty\nengine: llamacpp\n");
    expect(error.code).toBe("NOTHING_TO_RUN");
  });
});

describe("loadStudy: files and errors", () => {
  it("base: is relative to the study file; study fields override it (deep merge)", async () => {
    const dir = await tempDir("llem-study-base-");
    await mkdir(join(dir, "shared"));
    await writeFile(
      join(dir, "shared", "base.yaml"),
      "task: {model: 'synthetic:tiny', max_output_tokens: 12}\nllamacpp: {threads: 2}\nstudy_name: ignored\n",
    );
    await mkdir(join(dir, "studies"));
    const file = join(dir, "studies", "s.yaml");
    await writeFile(
      file,
      "base: ../shared/base.yaml\ntask: {max_input_tokens: 32}\nsweep: {llamacpp.batch_size: [1, 2]}\n",
    );
    const loaded = await loadStudy(file);
    expect(
      pick(
        loaded,
        "task.model",
        "task.max_output_tokens",
        "task.max_input_tokens",
        "llamacpp.threads",
      ),
    ).toEqual([
      ["synthetic:tiny", 12, 32, 2],
      ["synthetic:tiny", 12, 32, 2],
    ]);
    expect(loaded.study.study_name).toBe("study");

    await writeFile(file, "base: ../shared/missing.yaml\nsweep: {llamacpp.batch_size: [1]}\n");
    const error = await loadFileError(file);
    expect(error.code).toBe("CONFIG_NOT_FOUND");
    expect(error.message).toContain(join(dir, "shared", "missing.yaml"));
  });

  it("YAML syntax errors name file:line:col", async () => {
    const file = await studyFile("study_name: x\ntask:\n  model: [a, b\nsweep: {}\n");
    const error = await loadFileError(file);
    expect(error.code).toBe("CONFIG_PARSE");
    expect(error.message).toMatch(
      new RegExp(`^${file.replaceAll(".", "\\.")}:\\d+:\\d+: invalid YAML`),
    );
    const duplicate = await studyFile("task: {model: a}\ntask: {model: b}\n");
    const error2 = await loadFileError(duplicate);
    expect(error2.code).toBe("CONFIG_PARSE");
    expect(error2.message).toContain(`${duplicate}:2:1`);
  });

  it("a missing file is CONFIG_NOT_FOUND; schema errors are CONFIG_INVALID with paths", async () => {
    const missing = await loadFileError("/nonexistent/study.yaml");
    expect(missing.code).toBe("CONFIG_NOT_FOUND");
    const error = await loadError(`
task: {model: "synthetic:tiny"}
sweep: {llamacpp.batch_sise: [1, 2]}
study_execution: {n_cycles: 0}
`);
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toContain("llamacpp.batch_size");
    expect(error.message).toContain("study_execution.n_cycles");
  });

  it("a single-experiment file is a 1-config, 1-run study", async () => {
    const file = await studyFile(
      "task: {model: 'synthetic:tiny'}\nllamacpp: {batch_size: 2}\n",
      "my exp.yaml",
    );
    const loaded = await loadStudy(file);
    expect(loaded.kind).toBe("experiment");
    expect(loaded.study.study_name).toBe("my-exp");
    expect(loaded.configs).toHaveLength(1);
    expect(loaded.runs).toEqual([
      {
        configHash: loaded.configs[0]!.configHash,
        cycle: 1,
        summary: loaded.configs[0]!.summary,
        configIndex: 0,
      },
    ]);
    const bad = await studyFile("task: {model: 'synthetic:tiny'}\nllamacpp: {batch_size: 0}\n");
    const error = await loadFileError(bad);
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toContain("llamacpp.batch_size");
  });

  it("hashes: yamlHash follows the bytes, designHash ignores execution settings", async () => {
    const body = 'task: {model: "synthetic:tiny"}\nsweep: {llamacpp.batch_size: [1, 2]}\n';
    const one = await load(`${body}study_execution: {n_cycles: 1}\n`);
    const five = await load(`${body}study_execution: {n_cycles: 5, experiment_order: shuffle}\n`);
    expect(five.designHash).toBe(one.designHash);
    // Computed from canonical texts once; must equal the schema's own functions.
    expect(five.designHash).toBe(studyDesignHash(five.configs.map((entry) => entry.config)));
    for (const entry of five.configs) expect(entry.configHash).toBe(configHash(entry.config));
    expect(five.designHash).toMatch(/^[0-9a-f]{16}$/);
    expect(five.yamlHash).not.toBe(one.yamlHash);
    expect(Buffer.from(five.yamlBytes).toString()).toBe(five.yamlText);
    expect(five.runs).toHaveLength(10);
    expect(five.shuffleSeed).toBe(Number.parseInt(five.designHash.slice(-8), 16));
    // Topping up: the first cycles keep their order.
    const three = await load(`${body}study_execution: {n_cycles: 3, experiment_order: shuffle}\n`);
    expect(five.runs.slice(0, 6)).toEqual(three.runs);
  });

  it("orders runs over cycles (4 configs × 3 cycles, each ordering)", async () => {
    const body =
      'task: {model: "synthetic:tiny"}\nsweep:\n  llamacpp.batch_size: [1, 2]\n  llamacpp.threads: [1, 2]\n';
    const expected = {
      sequential: [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
      interleave: [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3],
      reverse: [0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3],
      latin_square: [0, 1, 3, 2, 1, 2, 0, 3, 2, 3, 1, 0],
    };
    for (const [order, indexes] of Object.entries(expected)) {
      const loaded = await load(
        `${body}study_execution: {n_cycles: 3, experiment_order: ${order}}\n`,
      );
      expect(loaded.runs.map((run) => run.configIndex)).toEqual(indexes);
      expect(loaded.runs.map((run) => run.configHash)).toEqual(
        indexes.map((index) => loaded.configs[index]!.configHash),
      );
    }
    const seeded = await load(
      `${body}study_execution: {n_cycles: 3, experiment_order: shuffle, shuffle_seed: 1451266392}\n`,
    );
    expect(seeded.runs.map((run) => run.configIndex)).toEqual([1, 0, 2, 3, 2, 1, 3, 0, 1, 3, 2, 0]);
  });

  it("large studies warn with the count and a minimum duration", async () => {
    const loaded = await load(`
task: {model: "synthetic:tiny"}
sweep:
  llamacpp.batch_size: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
  llamacpp.threads: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
study_execution: {n_cycles: 6, experiment_gap_seconds: 10}
`);
    expect(loaded.runs).toHaveLength(600);
    expect(loaded.warnings[0]).toMatch(
      /^large study: 600 runs \(100 configs × 6 cycles\); at least 110 min, typically ~/,
    );
    expect(loaded.estimate.minSeconds).toBeGreaterThanOrEqual(599 * 10);
    expect(loaded.estimate.typicalSeconds).toBeGreaterThan(loaded.estimate.minSeconds);
  });
});
