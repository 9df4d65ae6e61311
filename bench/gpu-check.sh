#!/usr/bin/env bash
# The real-GPU check of the energy work, for a machine with an NVIDIA GPU and a driver (one
# script, under 10 minutes): llem doctor; then a short llamacpp study with gpu_layers > 0 on
# node-llama-cpp's CUDA binary and a synthetic model big enough for a >= 10 s window, sampler
# nvml; meanwhile nvidia-smi logs power every 100 ms and record-nvml.mjs records NVML's counter,
# both kept as RECORDED fixtures; at the end llem's counter energy per GPU is printed beside
# nvidia-smi's power integrated over the same window.
#   pnpm install && pnpm build && bash bench/gpu-check.sh [OUT_DIR]
# Not yet run: no GPU machine was lent when it was written (see bench/RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-/tmp/llem-gpu-check}}"
mkdir -p "$out"
fixtures=packages/backends/src/energy/__fixtures__

node apps/cli/dist/cli.js doctor | tee "$out/doctor.txt"
nvidia-smi --query-gpu=timestamp,index,uuid,name,power.draw,power.draw.instant,temperature.gpu,memory.used \
  --format=csv -lms 100 >"$out/nvidia-smi-recorded.csv" &
smi=$!
node "$fixtures/record-nvml.mjs" 240 50 >"$out/nvml-recorded.json" &
recorder=$!
trap 'kill $smi $recorder 2>/dev/null || true' EXIT

cat >"$out/gpu-study.yaml" <<'EOF'
study_name: gpu-check
task:
  model: "synthetic:layers=24,width=2048,vocab=32000"
  dataset: {source: builtin:short, n_prompts: 32}
  max_output_tokens: 512
llamacpp: {gpu_layers: 99, batch_size: 8, threads: 2}
gpus: [0]
measurement:
  energy: {sampler: nvml, sample_interval_ms: 100}
  baseline: {duration_seconds: 10}
  warmup: {n_warmup: 2}
study_execution: {n_cycles: 1}
output: {results_dir: RESULTS}
EOF
sed -i "s|RESULTS|$out/results|" "$out/gpu-study.yaml"
timeout 420 node apps/cli/dist/cli.js run "$out/gpu-study.yaml" | tee "$out/run.txt"
sleep 1
kill $smi $recorder 2>/dev/null || true
wait $recorder 2>/dev/null || true

# llem's figures beside nvidia-smi's power integrated over the result's window (wall clock).
node --input-type=module - "$out" <<'EOF'
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
const out = process.argv[2];
const studies = join(out, "results");
const study = join(studies, readdirSync(studies)[0]);
const experiments = join(study, "experiments");
const backends = await import(join(process.cwd(), "packages/backends/dist/index.js"));
const smi = backends.parseNvidiaSmiCsv(readFileSync(join(out, "nvidia-smi-recorded.csv"), "utf8"));
// nvidia-smi's timestamps are local time; parseNvidiaSmiCsv counts from the earliest row.
const stamps = readFileSync(join(out, "nvidia-smi-recorded.csv"), "utf8")
  .split("\n")
  .slice(1)
  .map((line) => Date.parse(line.split(",")[0].trim().replace(/\//g, "-").replace(" ", "T")))
  .filter(Number.isFinite);
const origin = Math.min(...stamps);
for (const dir of readdirSync(experiments)) {
  const result = JSON.parse(readFileSync(join(experiments, dir, "result.json"), "utf8"));
  const from = Date.parse(result.window.started_at) - origin;
  const to = Date.parse(result.window.ended_at) - origin;
  for (const block of result.energy.components.filter((b) => b.component === "gpu")) {
    const rows = smi.readings
      .filter((r) => r.index === block.gpu.index && r.power_w !== null && r.t_ms >= from && r.t_ms <= to)
      .map((r) => ({ t_ms: r.t_ms, power_w: r.power_w }));
    const smiJ = backends.integratePower(rows, from, to);
    console.log(
      `${block.device} ${block.gpu.name} ${block.gpu.uuid}: llem ${block.raw_j.toFixed(1)} J (${block.reading}, update period ${block.gpu.counter_update_period_ms} ms, integrated ${block.integrated_j?.toFixed(1)} J); nvidia-smi power integrated ${smiJ?.toFixed(1)} J over ${((to - from) / 1000).toFixed(1)} s (${rows.length} rows); window ${result.window.duration_s.toFixed(1)} s`,
    );
  }
}
EOF
echo "recorded traces: $out/nvidia-smi-recorded.csv $out/nvml-recorded.json"
