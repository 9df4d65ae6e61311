import { hostname } from "node:os";
import { type ExperimentConfig, type ExperimentResult, LLEM_VERSION } from "@llem/schema";

/**
 * A result with synthetic figures, for the worker's test/bench-only `fake` mode (no engine runs).
 * The figures depend only on the cycle, so aggregates over cycles are known exactly:
 * output tok/s = 100 + cycle, J/output token = 0.01 × cycle, TTFT p50 = 10 × cycle ms,
 * ITL p50 = cycle ms. The energy is labelled `estimated` and a warning says it is fake.
 */
export function fakeResult(
  config: ExperimentConfig,
  configHash: string,
  cycle: number,
  startedAt: string,
): ExperimentResult {
  const now = new Date().toISOString();
  const outputTokens = 100;
  const tokPerS = 100 + cycle;
  const duration = outputTokens / tokPerS;
  const jPerToken = 0.01 * cycle;
  const latency = (p50: number) => ({
    count: 4,
    mean: p50,
    p50,
    p95: p50,
    p99: p50,
    min: p50,
    max: p50,
  });
  return {
    schema_version: "1.0",
    config_hash: configHash,
    config,
    engine: config.engine,
    engine_version: null,
    model: {
      name: config.task.model,
      path: null,
      parameters: null,
      file_size_bytes: null,
      weight_type: null,
    },
    started_at: startedAt,
    ended_at: now,
    window: { started_at: startedAt, ended_at: now, duration_s: duration },
    tokens: { input: 40, output: outputTokens, total: 140, requests: 4 },
    throughput: {
      output_tokens_per_s: tokPerS,
      total_tokens_per_s: 140 / duration,
      requests_per_s: 4 / duration,
    },
    latency: { ttft_ms: latency(10 * cycle), itl_ms: latency(cycle), request_latency_ms: null },
    energy: {
      sampler: "estimate",
      method: "estimated",
      selection_reason:
        "fake result (test-only fault worker, LLEM_TEST_WORKER_FAULT=fake): no engine ran",
      raw_j: jPerToken * outputTokens,
      adjusted_j: null,
      energy_per_output_token_j: jPerToken,
      energy_per_request_j: (jPerToken * outputTokens) / 4,
      mean_power_w: (jPerToken * outputTokens) / duration,
      baseline: null,
      sample_interval_ms: 100,
      sample_count: 0,
      per_device: [],
      estimate_inputs: null,
    },
    warmup: {
      enabled: false,
      mode: "fixed",
      prompts: 0,
      converged: null,
      final_cv: null,
      latencies_ms: [],
      thermal_floor_s: 0,
    },
    flops: { total: null, per_output_token: null, method: "none" },
    memory: { peak_rss_bytes: process.memoryUsage().rss, model_bytes: null },
    environment: {
      llem_version: LLEM_VERSION,
      node_version: process.version,
      os: process.platform,
      arch: process.arch,
      cpu_model: "fake",
      cpu_cores: 0,
      total_memory_bytes: 0,
      engine_versions: {},
      gpus: [],
      hostname: hostname(),
    },
    warnings: [{ code: "fake_result", message: "test/bench-only fake result: no engine ran" }],
    timeseries_file: null,
  };
}
