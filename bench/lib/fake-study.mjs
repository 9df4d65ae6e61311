// A study dir with FAKE results, for scale benchmarks of the readers (bench/report.mjs): the
// real expansion of a study file (configs, hashes, summaries, run order, skipped configs from
// @llem/study's loadStudy), every run `completed` in a plain study_manifest.json, and one
// result.json per run in the ExperimentResult shape with synthetic figures (no engine ran; every
// result carries a `fake_result` warning). Figures vary per config (seeded), so the Pareto front
// and the axes have shape; llamacpp runs are labelled estimated, server engines measured.
// A few configs also get a timeseries.csv and a requests.jsonl, as real runs would.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const { seededRandom } = await import(
  join(dirname(fileURLToPath(import.meta.url)), "../../packages/schema/dist/index.js")
);

/** The one seeded PRNG of @llem/schema, as floats in [0, 1): the same study every time. */
function random(seed) {
  const generator = seededRandom(seed);
  return () => generator.nextFloat();
}

const ladder = (p50) => ({
  count: 16,
  mean: p50 * 1.1,
  p50,
  p95: p50 * 1.8,
  p99: p50 * 2.2,
  min: p50 * 0.6,
  max: p50 * 2.5,
});

function fakeResult(entry, cycle, figures, startedAt, endedAt, withTimeseries) {
  const { config, configHash } = entry;
  const estimated = config.engine === "llamacpp";
  const noise = 1 + (cycle - 2) * 0.01;
  const tokPerS = figures.tokPerS * noise;
  const outputTokens = 16 * config.task.max_output_tokens;
  const duration = outputTokens / tokPerS;
  const jPerToken = figures.jPerToken / noise;
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
    ended_at: endedAt,
    window: { started_at: startedAt, ended_at: endedAt, duration_s: duration },
    tokens: { input: 640, output: outputTokens, total: 640 + outputTokens, requests: 16 },
    throughput: {
      output_tokens_per_s: tokPerS,
      total_tokens_per_s: (640 + outputTokens) / duration,
      requests_per_s: 16 / duration,
    },
    latency: {
      ttft_ms: ladder(figures.ttft * noise),
      itl_ms: ladder(figures.itl * noise),
      request_latency_ms: ladder(figures.ttft + figures.itl * config.task.max_output_tokens),
    },
    energy: {
      sampler: estimated ? "estimate" : "nvml",
      method: estimated ? "estimated" : "measured",
      selection_reason: "fake result (bench/lib/fake-study.mjs): no engine ran",
      raw_j: jPerToken * outputTokens,
      adjusted_j: jPerToken * outputTokens * 0.95,
      energy_per_output_token_j: jPerToken,
      energy_per_request_j: (jPerToken * outputTokens) / 16,
      mean_power_w: (jPerToken * outputTokens) / duration,
      baseline: null,
      sample_interval_ms: 100,
      sample_count: Math.round(duration * 10),
      per_device: [],
      estimate_inputs: estimated
        ? {
            formula: "energy_j = cpu_time_s × watts_per_core",
            cpu_time_s: duration,
            watts_per_core: 10,
          }
        : null,
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
    memory: { peak_rss_bytes: null, model_bytes: null },
    environment: {
      llem_version: "0.0.0",
      node_version: process.version,
      os: process.platform,
      arch: process.arch,
      cpu_model: "fake",
      cpu_cores: 0,
      total_memory_bytes: 0,
      engine_versions: {},
      gpus: [],
    },
    warnings: [{ code: "fake_result", message: "bench-only fake result: no engine ran" }],
    timeseries_file: withTimeseries ? "timeseries.csv" : null,
  };
}

/**
 * Writes the study dir `dir` for `loaded` (loadStudy's result of the file whose text is
 * `yamlText`). `samplesFor`: how many configs (cycle 1) also get a timeseries.csv and a
 * requests.jsonl. Returns the number of runs.
 */
export function writeFakeStudy(dir, yamlText, loaded, { samplesFor = 50 } = {}) {
  mkdirSync(join(dir, "experiments"), { recursive: true });
  writeFileSync(join(dir, "study.yaml"), yamlText);
  const next = random(42);
  const figures = loaded.configs.map(() => {
    const speed = 0.05 + next();
    return {
      tokPerS: 40 + 4000 * speed,
      jPerToken: 0.002 + 0.02 / speed + 0.01 * next(),
      ttft: 5 + 300 * next(),
      itl: 1000 / (40 + 4000 * speed),
    };
  });
  const started = Date.parse("2026-01-01T00:00:00Z");
  const experiments = [];
  loaded.runs.forEach((run, position) => {
    const entry = loaded.configs[run.configIndex];
    const name = `${String(run.configIndex + 1).padStart(5, "0")}_c${run.cycle}_${entry.config.engine}_${run.configHash.slice(0, 8)}`;
    const experimentDir = join(dir, "experiments", name);
    mkdirSync(experimentDir);
    const startedAt = new Date(started + position * 60_000).toISOString();
    const endedAt = new Date(started + position * 60_000 + 55_000).toISOString();
    const samples = run.cycle === 1 && run.configIndex < samplesFor;
    const result = fakeResult(
      entry,
      run.cycle,
      figures[run.configIndex],
      startedAt,
      endedAt,
      samples,
    );
    writeFileSync(join(experimentDir, "result.json"), JSON.stringify(result, null, 2));
    if (samples) {
      const rows = ["t_ms,device,power_w,temperature_c"];
      for (let t = 0; t < result.window.duration_s * 1000; t += 100) {
        rows.push(
          `${t.toFixed(1)},gpu0,${(result.energy.mean_power_w * (0.9 + 0.2 * next())).toFixed(3)},`,
        );
      }
      writeFileSync(join(experimentDir, "timeseries.csv"), `${rows.join("\n")}\n`);
      const requests = [];
      for (let request = 0; request < 16; request++) {
        const ttft = result.latency.ttft_ms.p50 * (0.6 + next());
        const itl = Array.from(
          { length: 32 },
          () => result.latency.itl_ms.p50 * (0.7 + 0.6 * next()),
        );
        requests.push(
          JSON.stringify({
            ttft_ms: ttft,
            e2e_ms: ttft + itl.reduce((a, b) => a + b, 0),
            itl_ms: itl,
            output_tokens: 32,
            error: null,
          }),
        );
      }
      writeFileSync(join(experimentDir, "requests.jsonl"), `${requests.join("\n")}\n`);
    }
    experiments.push({
      config_hash: run.configHash,
      config_summary: run.summary,
      cycle: run.cycle,
      status: "completed",
      result_file: `experiments/${name}/result.json`,
      error_type: null,
      error_message: null,
      started_at: startedAt,
      completed_at: endedAt,
    });
  });
  const manifest = {
    schema_version: "2.0",
    study_name: loaded.study.study_name,
    study_yaml_hash: loaded.yamlHash,
    study_yaml_path: join(dir, "study.yaml"),
    llenergymeasure_version: "0.0.0",
    started_at: new Date(started).toISOString(),
    completed_at: new Date(started + loaded.runs.length * 60_000).toISOString(),
    status: "completed",
    experiments,
  };
  writeFileSync(join(dir, "study_manifest.json"), JSON.stringify(manifest));
  writeFileSync(
    join(dir, "skipped_configs.json"),
    JSON.stringify(loaded.skipped.map(({ summary, reason }) => ({ summary, reason }))),
  );
  return loaded.runs.length;
}
