// Records real NVML readings on a GPU machine into the NvmlRecording format that
// replayNvmlBackend() replays (see docs/backends-energy.md), to replace the constructed fixtures
// with recorded ones:
//   pnpm --filter @llem/backends build
//   node packages/backends/src/energy/__fixtures__/record-nvml.mjs 30 50 > nvml-recorded.json
// (seconds to record, read interval in ms, optionally a libnvidia-ml path). Run a workload
// meanwhile to get a load step.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const [seconds = "30", intervalMs = "50", library] = process.argv.slice(2); // library: a libnvidia-ml path
const dist = join(dirname(fileURLToPath(import.meta.url)), "../../../dist/index.js");
const { openKoffiNvml } = await import(dist);
const nvml = await openKoffiNvml(library);
const devices = nvml.devices();
const readings = [];
const started = performance.now();
while (performance.now() - started < Number(seconds) * 1000) {
  const t = performance.now() - started;
  for (const device of devices) {
    try {
      const reading = await nvml.read(device.index);
      readings.push({ t_ms: Math.round(t * 10) / 10, index: device.index, ...reading });
    } catch {
      // a failed read stays a hole in the recording, as it would be in a live window
    }
  }
  await new Promise((resolve) => setTimeout(resolve, Number(intervalMs)));
}
nvml.close();
const source = `RECORDED with record-nvml.mjs on ${new Date().toISOString()}: ${nvml.description}; ${devices
  .map((d) => d.name)
  .join(", ")}; read every ${intervalMs} ms`;
process.stdout.write(`${JSON.stringify({ source, devices, readings })}\n`);
