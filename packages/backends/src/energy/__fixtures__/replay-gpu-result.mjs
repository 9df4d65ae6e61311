// Replays an NvmlRecording (record-nvml.mjs, or the constructed fixtures here) through a whole
// experiment — placement, the NVML sampler, result assembly — and prints each GPU's energy as
// the result reports it beside the recording's own counter delta between the moments the
// sampler read it, and their sum. The inference is real (llama.cpp on the CPU, tiny synthetic
// model); only the GPU readings come from the recording, on a virtual clock.
//   pnpm build
//   node packages/backends/src/energy/__fixtures__/replay-gpu-result.mjs \
//     packages/backends/src/energy/__fixtures__/nvml-counter-constructed-4gpu.json 1500 8000 0,1
// (recording, window start in the recording's ms, window length ms, gpus: indices or UUIDs)
import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const [file, startArg = "1500", lengthArg = "8000", gpusArg = "0"] = process.argv.slice(2);
if (!file) {
  console.error("usage: replay-gpu-result.mjs RECORDING.json [startMs] [lengthMs] [gpus]");
  process.exit(2);
}
const dist = join(dirname(fileURLToPath(import.meta.url)), "../../../dist/index.js");
const backends = await import(dist);
const recording = JSON.parse(readFileSync(file, "utf8"));
const gpus = gpusArg.split(",").map((id) => (/^\d+$/.test(id) ? Number(id) : id));

let time = Number(startArg);
let onTick;
const clock = {
  now: () => time,
  sleep: async (ms) => {
    time += ms;
  },
  scheduler: (_ms, callback) => {
    onTick = callback;
    return { stop: async () => undefined };
  },
};
const replay = backends.replayNvmlBackend(recording, { clock: clock.now });
const reads = new Map();
const backend = {
  ...replay,
  description: replay.description,
  devices: () => replay.devices(),
  readEnergy: async (index) => (await replay.read(index)).energy_mj,
  async read(index) {
    const reading = await replay.read(index);
    reads.set(index, { first: reads.get(index)?.first ?? time, last: time });
    return reading;
  },
  close: () => replay.close(),
};
const cacheDir = await mkdtemp(join(tmpdir(), "llem-replay-"));
const result = await backends.runExperiment(
  {
    task: { model: "synthetic:tiny", dataset: { n_prompts: 2 }, max_output_tokens: 4 },
    llamacpp: { threads: 1 },
    gpus,
    measurement: {
      energy: { sampler: "nvml" },
      baseline: { enabled: false },
      warmup: { enabled: false },
    },
  },
  {
    cacheDir,
    gpuPlacement: backends.resolveGpus(gpus, {}, recording.devices),
    samplerOptions: { nvml: backend, ...clock },
    createEngine: (config) => {
      const engine = new backends.LlamaCppEngine(config, { cacheDir });
      const run = engine.run.bind(engine);
      engine.run = async (prompts, options) => {
        const requests = await run(prompts, options);
        for (let t = 0; t + 100 <= Number(lengthArg); t += 100) {
          time += 100;
          await onTick?.();
        }
        return requests;
      };
      return engine;
    },
  },
);
const counterAt = (index, t) =>
  recording.readings.filter((r) => r.index === index && r.t_ms <= t && r.energy_mj != null).at(-1)
    ?.energy_mj;
console.log(`recording: ${recording.source}`);
console.log(`placement: ${result.gpus?.description}`);
const spans = [...reads.values()];
console.log(
  `window: ${spans[0]?.first} to ${spans[0]?.last} ms of the recording (it starts after the counter's update-period detection, which polls first)`,
);
let traceSum = 0;
for (const block of result.energy.components.filter((b) => b.component === "gpu")) {
  const { first, last } = reads.get(block.gpu.index);
  const trace = (counterAt(block.gpu.index, last) - counterAt(block.gpu.index, first)) / 1000;
  traceSum += trace;
  const off = (100 * Math.abs(block.raw_j - trace)) / trace;
  console.log(
    `${block.device} ${block.gpu.uuid}: result ${block.raw_j.toFixed(3)} J (${block.reading}), trace ${trace.toFixed(3)} J, ${off.toFixed(4)} % apart; mean ${block.gpu.mean_power_w.toFixed(1)} W, peak ${block.gpu.peak_power_w} W`,
  );
}
const gpuSum = result.energy.by_component.find((sum) => sum.component === "gpu");
console.log(
  `sum: result ${gpuSum.raw_j.toFixed(3)} J, trace ${traceSum.toFixed(3)} J, ${((100 * Math.abs(gpuSum.raw_j - traceSum)) / traceSum).toFixed(4)} % apart; headline ${result.energy.headline}, ${result.energy.energy_per_output_token_j.toFixed(3)} J/output token`,
);
