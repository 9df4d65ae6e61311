import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ExperimentConfigInput, ExperimentResult, LlemError } from "@llem/schema";
import { tempDir } from "@llem/test-utils";
import { beforeAll, describe, expect, it } from "vitest";
import { LlamaCppEngine } from "../engines/llamacpp/engine.js";
import { libuvThreadpoolSize } from "../engines/llamacpp/process-env.js";
import { ensureSyntheticModel } from "../models/synthetic.js";
import { runExperiment } from "./run-experiment.js";

// One cache for the whole file: the tiny model and the thread calibration are made once.
let cacheDir: string;
beforeAll(async () => {
  const { mkdtemp } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  cacheDir =
    process.env.LLEM_TEST_CACHE_DIR ?? (await mkdtemp(join(tmpdir(), "llem-backends-cache-")));
});

function tinyConfig(overrides: Partial<ExperimentConfigInput> = {}): ExperimentConfigInput {
  return {
    task: {
      model: "synthetic:tiny",
      dataset: { source: "builtin:mixed", n_prompts: 6 },
      max_input_tokens: 64,
      max_output_tokens: 12,
    },
    llamacpp: { batch_size: 2 },
    measurement: {
      energy: { sampler: "estimate", sample_interval_ms: 50 },
      baseline: { enabled: true, duration_seconds: 1, strategy: "fresh" },
      warmup: { mode: "fixed", n_warmup: 2 },
    },
    ...overrides,
  };
}

async function errorOf(promise: Promise<unknown>): Promise<LlemError> {
  try {
    await promise;
  } catch (error) {
    if (LlemError.isInstance(error)) return error;
    throw error;
  }
  throw new Error("expected the experiment to fail");
}

// Real inference on a shared 2-core machine: generous timeouts, never timing assertions.
describe("runExperiment on the tiny synthetic model (real llama.cpp inference)", {
  timeout: 600_000,
}, () => {
  it("measures tokens, latencies and an energy figure labelled estimated", async () => {
    const outputDir = await tempDir();
    const stages: string[] = [];
    const result = await runExperiment(tinyConfig(), {
      cacheDir,
      outputDir,
      onProgress: (progress) => {
        if (stages.at(-1) !== progress.stage) stages.push(progress.stage);
      },
    });
    expect(ExperimentResult.safeParse(result).success).toBe(true);
    expect(stages).toEqual(["prepare", "baseline", "warmup", "window", "teardown"]);
    expect(result.tokens).toMatchObject({ output: 6 * 12, requests: 6 });
    expect(result.tokens.input).toBeGreaterThan(6);
    // The long prompts of builtin:mixed are cut to 64 tokens; the warning says how many.
    expect(result.warnings.map((warning) => warning.code)).toContain("prompts_truncated");
    expect(result.throughput.output_tokens_per_s).toBeGreaterThan(0);
    expect(result.latency.ttft_ms?.count).toBe(6);
    expect(result.latency.itl_ms?.count).toBe(6 * 11);
    expect(result.latency.request_latency_ms?.p50).toBeGreaterThan(0);
    expect(result.energy).toMatchObject({ sampler: "estimate", method: "estimated" });
    expect(result.energy.raw_j).toBeGreaterThan(0);
    expect(result.energy.estimate_inputs?.formula).toContain("cpu_time_s");
    expect(result.energy.baseline).toMatchObject({ source: "fresh", sampler: "estimate" });
    expect(result.energy.energy_per_output_token_j).toBeGreaterThan(0);
    expect(result.warnings.map((warning) => warning.code)).toContain("estimated_energy");
    expect(result.warmup).toMatchObject({ enabled: true, mode: "fixed", prompts: 2 });
    expect(result.model.parameters).toBeGreaterThan(500_000);
    expect(result.flops.total).toBe(2 * (result.model.parameters ?? 0) * result.tokens.total);
    expect(result.environment.engine_versions["node-llama-cpp"]).toMatch(/^3\./);
    // Provenance: llama.cpp's own version (build tag or source commit), not node-llama-cpp's
    // release tag; llem's version with the commit of this checkout.
    expect(result.environment.engine_versions["llama.cpp"]).toMatch(
      /^ggml-org\/llama\.cpp@(b\d+|[0-9a-f]{12})$/,
    );
    expect(result.engine_version).toMatch(/^llama\.cpp (b\d+|[0-9a-f]{12})$/);
    expect(result.environment.llem_version).toMatch(/^\d+\.\d+\.\d+\+git\.[0-9a-f]{12}(\.dirty)?$/);
    expect(result.environment.cpu_cores).toBeGreaterThan(0);
    expect(result.timeseries_file).toBe("timeseries.csv");
    expect(readFileSync(join(outputDir, "timeseries.csv"), "utf8").split("\n")[0]).toBe(
      "t_ms,device,power_w,temperature_c",
    );
  });

  it("warms up until the latency CV converges, capped by max_prompts", async () => {
    const result = await runExperiment(
      tinyConfig({
        task: {
          model: "synthetic:tiny",
          dataset: { source: "builtin:short", n_prompts: 2 },
          max_output_tokens: 4,
        },
        measurement: {
          energy: { sampler: "none" },
          baseline: { enabled: false },
          warmup: { mode: "cv", cv_threshold: 0.001, window_size: 3, max_prompts: 4 },
        },
      }),
      { cacheDir },
    );
    // A CV under 0.1 % is out of reach for real latencies: the cap ends the warmup.
    expect(result.warmup).toMatchObject({ mode: "cv", prompts: 4, converged: false });
    expect(result.warmup.latencies_ms).toHaveLength(4);
    expect(result.energy).toMatchObject({ sampler: "none", method: "none", raw_j: null });
    expect(result.warnings.map((warning) => warning.code)).toEqual(
      expect.arrayContaining(["warmup_not_converged", "no_energy"]),
    );
  });

  it("records the libuv pool size and warns when it slows an OpenMP build with 2+ threads", async () => {
    const result = await runExperiment(
      tinyConfig({
        task: { model: "synthetic:tiny", dataset: { n_prompts: 1 }, max_output_tokens: 2 },
        llamacpp: { threads: 2 },
        measurement: {
          energy: { sampler: "none" },
          baseline: { enabled: false },
          warmup: { mode: "fixed", n_warmup: 1 },
        },
      }),
      { cacheDir },
    );
    const settings = result.engine_settings as Record<string, unknown>;
    // The vitest worker's pool is whatever its parent gave it (4 unless UV_THREADPOOL_SIZE is set).
    expect(settings.libuv_threadpool_size).toBe(libuvThreadpoolSize());
    const expected = settings.binary !== "prebuilt" && libuvThreadpoolSize() > 1;
    expect(result.warnings.some((warning) => warning.code === "libuv_threadpool")).toBe(expected);
  });

  it("loads and generates with f32, q8_0 and q4_0 weights, by preset or by path", async () => {
    for (const dtype of ["f32", "q8_0", "q4_0"]) {
      // q4_0 goes in as a plain GGUF path, like a user's own model file.
      const model =
        dtype === "q4_0"
          ? ensureSyntheticModel("synthetic:tiny,dtype=q4_0", cacheDir).path
          : `synthetic:tiny,dtype=${dtype}`;
      const result = await runExperiment(
        tinyConfig({
          task: {
            model,
            dataset: { n_prompts: 2 },
            max_output_tokens: 4,
          },
          // A fixed thread count: each dtype is a new model, which the default would calibrate.
          llamacpp: { batch_size: 2, threads: 1 },
          measurement: {
            energy: { sampler: "none" },
            baseline: { enabled: false },
            warmup: { enabled: false },
          },
        }),
        { cacheDir },
      );
      expect(result.model.weight_type).toBe(dtype);
      expect(result.tokens.output).toBe(8);
    }
  });

  it("gives the same token counts through node-llama-cpp's public evaluate path, batched", async () => {
    const config = tinyConfig({
      task: { model: "synthetic:tiny", dataset: { n_prompts: 5 }, max_output_tokens: 6 },
      llamacpp: { batch_size: 2 },
      measurement: {
        energy: { sampler: "none" },
        baseline: { enabled: false },
        warmup: { n_warmup: 1 },
      },
    });
    const results = [];
    for (const evaluator of ["direct", "sequence"] as const) {
      results.push(
        await runExperiment(config, {
          cacheDir,
          createEngine: (parsed) => new LlamaCppEngine(parsed, { cacheDir, evaluator }),
        }),
      );
    }
    const [direct, sequence] = results;
    expect(direct?.engine_settings).toMatchObject({ evaluator: "direct decode loop" });
    expect(sequence?.engine_settings).toMatchObject({ evaluator: "LlamaContextSequence.evaluate" });
    expect(sequence?.tokens).toEqual(direct?.tokens);
    expect(sequence?.latency.itl_ms?.count).toBe(5 * 5);
  });

  it("runs batch 1 through the native loop on a build:native binary, else warns of the stepwise loop's cost", async () => {
    const config = tinyConfig({
      task: { model: "synthetic:tiny", dataset: { n_prompts: 3 }, max_output_tokens: 10 },
      llamacpp: { batch_size: 1 },
      measurement: {
        energy: { sampler: "none" },
        baseline: { enabled: false },
        warmup: { n_warmup: 1 },
      },
    });
    const results = [];
    for (const evaluator of ["direct", "stepwise"] as const) {
      results.push(
        await runExperiment(config, {
          cacheDir,
          createEngine: (parsed) => new LlamaCppEngine(parsed, { cacheDir, evaluator }),
        }),
      );
    }
    const [preferred, stepwise] = results as [ExperimentResult, ExperimentResult];
    const codes = (result: ExperimentResult) => result.warnings.map((warning) => warning.code);
    // Every local build made from this repository has the loop (patches/node-llama-cpp@*.patch);
    // node-llama-cpp's prebuilt binaries never do.
    const settings = (result: ExperimentResult) =>
      result.engine_settings as Record<string, unknown>;
    const native = settings(preferred).binary !== "prebuilt";
    expect(settings(preferred).evaluator).toBe(
      native ? "native generation loop (llemGenerate, build:native)" : "direct decode loop",
    );
    expect(settings(stepwise).evaluator).toBe("direct decode loop");
    expect(preferred.tokens).toEqual(stepwise.tokens);
    expect(preferred.latency.itl_ms?.count).toBe(3 * 9);
    // The tiny model's tokens take well under 2 ms, where the stepwise loop's cost shows.
    expect(codes(stepwise)).toContain("binding_overhead");
    expect(codes(preferred).includes("binding_overhead")).toBe(!native);
  });

  it("runs a concurrent workload with a fixed number of requests in flight", async () => {
    const result = await runExperiment(
      tinyConfig({
        task: {
          model: "synthetic:tiny",
          dataset: { source: "builtin:mixed", n_prompts: 7 },
          max_output_tokens: 5,
        },
        llamacpp: { batch_size: 3 },
        workload: { mode: "concurrent", concurrency: 3 },
        measurement: {
          energy: { sampler: "none" },
          baseline: { enabled: false },
          warmup: { enabled: false },
        },
      }),
      { cacheDir },
    );
    expect(result.tokens).toMatchObject({ output: 35, requests: 7 });
    expect(result.latency.ttft_ms?.count).toBe(7);
  });

  it("aborts mid-window with EXPERIMENT_ABORTED and releases the model", async () => {
    const controller = new AbortController();
    const engines: LlamaCppEngine[] = [];
    const error = await errorOf(
      runExperiment(
        tinyConfig({
          task: { model: "synthetic:tiny", dataset: { n_prompts: 40 }, max_output_tokens: 16 },
        }),
        {
          cacheDir,
          signal: controller.signal,
          createEngine: (config) => {
            const engine = new LlamaCppEngine(config, { cacheDir });
            engines.push(engine);
            return engine;
          },
          onProgress: (progress) => {
            if (progress.stage === "window" && (progress.completed ?? 0) >= 2)
              controller.abort(new Error("test abort"));
          },
        },
      ),
    );
    expect(error.code).toBe("EXPERIMENT_ABORTED");
    expect(error.message).toContain("measurement window");
    expect(engines).toHaveLength(1);
    expect(engines[0]?.released).toBe(true);
  });

  it("aborts during the baseline", async () => {
    const controller = new AbortController();
    const pending = runExperiment(
      tinyConfig({
        measurement: {
          energy: { sampler: "estimate" },
          baseline: { enabled: true, duration_seconds: 30, strategy: "fresh" },
        },
      }),
      {
        cacheDir,
        signal: controller.signal,
        onProgress: (progress) => {
          if (progress.stage === "baseline") setTimeout(() => controller.abort(), 50);
        },
      },
    );
    expect((await errorOf(pending)).code).toBe("EXPERIMENT_ABORTED");
  });
});

describe("runExperiment errors", { timeout: 60_000 }, () => {
  it("reports a missing GGUF as MODEL_NOT_FOUND", async () => {
    const dir = await tempDir();
    const error = await errorOf(
      runExperiment(tinyConfig({ task: { model: join(dir, "nope.gguf") } }), { cacheDir }),
    );
    expect(error.code).toBe("MODEL_NOT_FOUND");
    expect(error.message).toContain("nope.gguf");
  });

  it("reports a corrupt GGUF as MODEL_INVALID", async () => {
    const dir = await tempDir();
    const { path } = ensureSyntheticModel("synthetic:tiny", cacheDir);
    const corrupt = join(dir, "corrupt.gguf");
    writeFileSync(corrupt, readFileSync(path).subarray(0, 4096));
    const error = await errorOf(
      runExperiment(tinyConfig({ task: { model: corrupt } }), { cacheDir }),
    );
    expect(error.code).toBe("MODEL_INVALID");
    expect(error.message).toContain("corrupt.gguf");
  });

  it("reports an unknown preset as CONFIG_INVALID listing the presets", async () => {
    const error = await errorOf(
      runExperiment(tinyConfig({ task: { model: "synthetic:gigantic" } }), { cacheDir }),
    );
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toMatch(/tiny, small, medium, large/);
  });

  it("reports a bad dataset line before loading the model", async () => {
    const dir = await tempDir();
    const file = join(dir, "prompts.jsonl");
    writeFileSync(file, '{"prompt": "fine"}\n{"prompt": \n');
    const error = await errorOf(
      runExperiment(tinyConfig({ task: { model: "synthetic:tiny", dataset: { source: file } } }), {
        cacheDir,
      }),
    );
    expect(error.code).toBe("DATASET_INVALID");
    expect(error.message).toContain(`${file}:2`);
  });

  it.skipIf(existsSync("/dev/nvidia0") || existsSync("/dev/dri/renderD128"))(
    "reports gpu_layers > 0 without a GPU as GPU_UNAVAILABLE",
    async () => {
      const error = await errorOf(
        runExperiment(tinyConfig({ llamacpp: { gpu_layers: 4 } }), { cacheDir }),
      );
      expect(error.code).toBe("GPU_UNAVAILABLE");
      expect(error.message).toContain("llamacpp.gpu_layers");
    },
    120_000,
  );
});
