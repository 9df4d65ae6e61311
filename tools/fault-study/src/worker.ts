/**
 * A TEST- AND BENCH-ONLY experiment process: @llem/study's production worker plus fault injection
 * and fake results (this private package is never published). Tests and benches point a study's
 * runner at its build, dist/worker.js, with `LLEM_STUDY_WORKER` — in the runner's environment, or
 * in the `env` a study's experiment processes get (FAULT_WORKER of @llem/test-utils).
 *
 * Switches (environment of the experiment process):
 * - `LLEM_TEST_WORKER_FAULT`: `crash` (SIGKILLs itself), `abort` (SIGABRT), `exit3` (exits 3
 *   without a message), `hang` (never answers and ignores SIGTERM; starts a grandchild `sleep` whose
 *   pid goes to `<experimentDir>/grandchild.pid`, to show the whole group is killed), `error` (the
 *   experiment throws), `fake` (no engine: a result with synthetic figures — tok/s = 100 + cycle,
 *   J/token = 0.01 × cycle — after `LLEM_TEST_WORKER_DELAY_MS`, abortable by SIGTERM).
 * - `LLEM_TEST_WORKER_FAULT_ONLY`: comma-separated `<configHash>:<cycle>` (or `<configHash>`)
 *   the fault applies to; the other runs use `LLEM_TEST_WORKER_OTHERWISE` (`fake` or `real`,
 *   default `real`).
 * - `LLEM_TEST_WORKER_LOG`: a file each worker appends `<configHash> <cycle>` to when it starts.
 * - `LLEM_TEST_WORKER_RESULT_PAD_BYTES`: in `fake` mode, a warning of that many bytes in the
 *   result (a result.json too large for a small file system: ENOSPC when the runner writes it).
 * - `LLEM_TEST_WORKER_PLACEMENT_LOG`: a file each worker appends one JSON line to when it starts:
 *   the run, its experiment dir, CUDA_VISIBLE_DEVICES, CUDA_DEVICE_ORDER, the cores it may run on
 *   (Cpus_allowed_list) and the GPUs it was told to measure (`gpuDevices`).
 * - `LLEM_TEST_WORKER_IMPORT_BACKENDS=1`: in `fake` mode, still import @llem/backends (as a real
 *   run does), so that bench/expand-orchestration.mjs counts its load in the overhead.
 * Without `LLEM_TEST_WORKER_FAULT` every run is real, exactly as the production worker runs it.
 */
import { spawn } from "node:child_process";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LlemError } from "@llem/schema";
import {
  type JobContext,
  runExperimentJob,
  serveOneJob,
  type WorkerJob,
} from "@llem/study/worker-host";
import { fakeResult } from "./fake-result.js";

const FAULT = "LLEM_TEST_WORKER_FAULT";

function faultFor(job: WorkerJob): string | undefined {
  const fault = process.env[FAULT];
  if (!fault) return undefined;
  const only = process.env.LLEM_TEST_WORKER_FAULT_ONLY;
  if (!only) return fault;
  const targets = only.split(",").map((item) => item.trim());
  const hit = targets.some(
    (target) => target === job.configHash || target === `${job.configHash}:${job.cycle}`,
  );
  if (hit) return fault;
  return process.env.LLEM_TEST_WORKER_OTHERWISE === "fake" ? "fake" : undefined;
}

async function runFault(fault: string, job: WorkerJob, context: JobContext): Promise<unknown> {
  switch (fault) {
    case "crash":
      process.kill(process.pid, "SIGKILL");
      break;
    case "abort":
      process.abort();
      break;
    case "exit3":
      process.exit(3);
      break;
    case "hang": {
      process.on("SIGTERM", () => {}); // a stuck engine that ignores SIGTERM
      const grandchild = spawn("sleep", ["1000"], { stdio: "ignore" });
      writeFileSync(join(job.experimentDir, "grandchild.pid"), String(grandchild.pid));
      await new Promise(() => {});
      break;
    }
    case "error":
      throw new LlemError("EXPERIMENT_FAILED", `injected failure (${FAULT}=error)`);
    case "fake": {
      if (process.env.LLEM_TEST_WORKER_IMPORT_BACKENDS === "1") await import("@llem/backends");
      const delayMs = Number(process.env.LLEM_TEST_WORKER_DELAY_MS ?? 0);
      if (delayMs > 0) await sleep(delayMs, undefined, { signal: context.signal });
      const result = fakeResult(job.config, job.configHash, job.cycle, context.startedAt);
      const pad = Number(process.env.LLEM_TEST_WORKER_RESULT_PAD_BYTES ?? 0);
      if (pad > 0) result.warnings.push({ code: "padding", message: "x".repeat(pad) });
      return result;
    }
  }
  throw new Error(`unknown ${FAULT}=${fault}`);
}

function placementOf(job: WorkerJob) {
  const status = readFileSync("/proc/self/status", "utf8");
  return {
    config_hash: job.configHash,
    cycle: job.cycle,
    experiment_dir: job.experimentDir,
    cuda_visible_devices: process.env.CUDA_VISIBLE_DEVICES ?? null,
    cuda_device_order: process.env.CUDA_DEVICE_ORDER ?? null,
    cpus_allowed: /^Cpus_allowed_list:\s*(.+)$/m.exec(status)?.[1] ?? null,
    gpu_devices: job.gpuDevices ?? null,
    pid: process.pid,
  };
}

serveOneJob(async (job, context) => {
  const log = process.env.LLEM_TEST_WORKER_LOG;
  if (log) appendFileSync(log, `${job.configHash} ${job.cycle}\n`);
  const placementLog = process.env.LLEM_TEST_WORKER_PLACEMENT_LOG;
  if (placementLog) appendFileSync(placementLog, `${JSON.stringify(placementOf(job))}\n`);
  const fault = faultFor(job);
  return fault ? runFault(fault, job, context) : runExperimentJob(job, context);
});
