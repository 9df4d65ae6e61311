import { describe, expect, it } from "vitest";
import { configHashOf } from "./hashes.js";
import { parseExperimentConfig, safeParseExperimentConfig } from "./parse.js";

function issuesOf(input: unknown) {
  const outcome = safeParseExperimentConfig(input);
  if (outcome.success) throw new Error("expected problems");
  return outcome.issues.map((issue) => `${issue.path}: ${issue.message}`);
}

describe("server engine configs", () => {
  it("fill the engine's workload defaults, so written and omitted defaults hash alike", () => {
    const bare = { engine: "vllm", task: { model: "org/model" } };
    const written = {
      engine: "vllm",
      task: { model: "org/model" },
      vllm: { dtype: "auto", tensor_parallel_size: 1, extra_args: [], runner: "local" },
      workload: {
        mode: "batch",
        concurrency: 1,
        api: "completions",
        request_timeout_s: 600,
        max_error_rate: 0,
      },
    };
    expect(configHashOf(written)).toBe(configHashOf(bare));
    const config = parseExperimentConfig(bare);
    expect(config.workload).toMatchObject({ api: "completions", request_timeout_s: 600 });
    // transformers serve has no /v1/completions: its default is chat.
    expect(
      parseExperimentConfig({ engine: "transformers", task: { model: "m" } }).workload.api,
    ).toBe("chat");
  });

  it("fill rate-mode defaults only in rate mode", () => {
    const rate = parseExperimentConfig({
      engine: "llama-server",
      task: { model: "synthetic:tiny" },
      workload: { mode: "rate", request_rate: 4 },
    });
    expect(rate.workload).toMatchObject({ arrival: "poisson", max_concurrency: null });
    expect(rate.workload.burstiness).toBeUndefined();
    const gamma = parseExperimentConfig({
      engine: "llama-server",
      task: { model: "synthetic:tiny" },
      workload: { mode: "rate", request_rate: 4, arrival: "gamma" },
    });
    expect(gamma.workload.burstiness).toBe(1);
  });

  it("leave a llamacpp workload exactly as it was", () => {
    const config = parseExperimentConfig({ task: { model: "synthetic:tiny" } });
    expect(config.workload).toEqual({ mode: "batch", concurrency: 1 });
  });

  it("say which workload fields apply where", () => {
    expect(issuesOf({ task: { model: "m" }, workload: { mode: "rate", request_rate: 1 } })).toEqual(
      [
        "workload.mode: mode rate (open loop) needs a server engine; llamacpp runs batch or concurrent",
      ],
    );
    expect(issuesOf({ task: { model: "m" }, workload: { api: "chat" } })).toEqual([
      "workload.api: applies to server engines, not llamacpp",
    ]);
    expect(issuesOf({ engine: "vllm", task: { model: "m" }, workload: { mode: "rate" } })).toEqual([
      "workload.request_rate: mode rate needs request_rate (requests per second)",
    ]);
    expect(
      issuesOf({ engine: "vllm", task: { model: "m" }, workload: { request_rate: 3 } }),
    ).toEqual(["workload.request_rate: applies to mode rate, not batch"]);
    expect(
      issuesOf({
        engine: "vllm",
        task: { model: "m" },
        workload: { mode: "rate", request_rate: 3, burstiness: 0.5 },
      }),
    ).toEqual([
      "workload.burstiness: applies to arrival gamma only (poisson is gamma with burstiness 1)",
    ]);
    expect(
      issuesOf({ engine: "transformers", task: { model: "m" }, workload: { api: "completions" } }),
    ).toEqual(['workload.api: transformers serves "chat" only']);
  });

  it("need an image for a container runner, and an endpoint for openai", () => {
    expect(
      issuesOf({ engine: "sglang", task: { model: "m" }, sglang: { runner: "podman" } }),
    ).toEqual(["sglang.image: runner podman needs sglang.image (a container image)"]);
    expect(issuesOf({ engine: "openai", task: { model: "m" } })).toEqual([
      "openai.endpoint: engine openai needs openai.endpoint (the base URL of a running server)",
    ]);
  });

  it("keep each engine's own knobs: tensorrt has no dtype flag", () => {
    expect(
      issuesOf({ engine: "tensorrt", task: { model: "m" }, tensorrt: { dtype: "float16" } }),
    ).toEqual([
      'tensorrt.dtype: unknown key; expected one of "backend", "max_num_seqs", "tensor_parallel_size", "max_model_len", "kv_cache_free_gpu_memory_fraction", "extra_args", "binary", "runner", "image", "runtime_args", "env", "mounts", "startup_timeout_s", "stop_timeout_s"',
    ]);
  });

  it("keep extra_args an argument vector: a shell string is one argument", () => {
    const config = parseExperimentConfig({
      engine: "llama-server",
      task: { model: "synthetic:tiny" },
      "llama-server": { extra_args: ["--alias", "; rm -rf / $(id)"] },
    });
    expect(config["llama-server"]?.extra_args).toEqual(["--alias", "; rm -rf / $(id)"]);
    expect(
      issuesOf({ engine: "vllm", task: { model: "m" }, vllm: { extra_args: "--foo bar" } }),
    ).toEqual(['vllm.extra_args: expected array, got "--foo bar"']);
  });

  it("take SLOs in measurement.slo, at least one", () => {
    const config = parseExperimentConfig({
      task: { model: "m" },
      measurement: { slo: { ttft_ms: 200 } },
    });
    expect(config.measurement.slo).toEqual({ ttft_ms: 200 });
    expect(issuesOf({ task: { model: "m" }, measurement: { slo: {} } })).toEqual([
      "measurement.slo: give at least one of ttft_ms, tpot_ms, e2e_ms",
    ]);
  });
});
