/**
 * The experiment process: @llem/study forks this file once per run, in its own process group.
 * It receives one job over IPC, runs it with @llem/backends `runExperiment`, sends the result (or
 * the error) back and exits. The parent validates and writes the result; this process writes
 * nothing but what the engine itself writes (timeseries.csv, engine.log via stdout/stderr).
 *
 * SIGTERM aborts the experiment cleanly; if the parent goes away (IPC disconnects) the experiment
 * is aborted too, so a killed runner never leaves an orphan burning the CPU.
 */
import { spawn } from "node:child_process";
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LlemError } from "@llem/schema";
import { fakeResult } from "./fake-result.js";
import {
  TEST_DELAY_ENV,
  TEST_FAULT_ENV,
  TEST_FAULT_ONLY_ENV,
  TEST_FAULT_OTHERWISE_ENV,
  TEST_IMPORT_BACKENDS_ENV,
  TEST_LOG_ENV,
  type WorkerJob,
  type WorkerMessage,
} from "./protocol.js";

const controller = new AbortController();
let finished = false;

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

function faultFor(job: WorkerJob): string | undefined {
  const fault = process.env[TEST_FAULT_ENV];
  if (!fault) return undefined;
  const only = process.env[TEST_FAULT_ONLY_ENV];
  if (!only) return fault;
  const targets = only.split(",").map((item) => item.trim());
  const hit = targets.some(
    (target) => target === job.configHash || target === `${job.configHash}:${job.cycle}`,
  );
  if (hit) return fault;
  const otherwise = process.env[TEST_FAULT_OTHERWISE_ENV];
  return otherwise === "fake" ? "fake" : undefined;
}

async function runFault(fault: string, job: WorkerJob, startedAt: string): Promise<unknown> {
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
      throw new LlemError("EXPERIMENT_FAILED", "injected failure (LLEM_TEST_WORKER_FAULT=error)");
    case "fake": {
      if (process.env[TEST_IMPORT_BACKENDS_ENV] === "1") {
        const specifier = "@llem/backends";
        await import(specifier);
      }
      const delayMs = Number(process.env[TEST_DELAY_ENV] ?? 0);
      if (delayMs > 0) await sleep(delayMs, undefined, { signal: controller.signal });
      return fakeResult(job.config, job.configHash, job.cycle, startedAt);
    }
  }
  throw new Error(`unknown ${TEST_FAULT_ENV}=${fault}`);
}

/** What the worker uses of @llem/backends (kept narrow so either side can evolve). */
interface BackendsModule {
  runExperiment(config: unknown, options: Record<string, unknown>): Promise<unknown>;
  BaselineCache: new (options: { filePath?: string; ttlSeconds?: number }) => unknown;
}

async function runReal(job: WorkerJob): Promise<unknown> {
  // A variable specifier: loaded only here, typed by the narrow interface above.
  const specifier = "@llem/backends";
  const backends = (await import(specifier)) as BackendsModule;
  const options = {
    signal: controller.signal,
    baselineCache: new backends.BaselineCache({
      filePath: job.baselineCacheFile,
      ttlSeconds: job.config.measurement.baseline.cache_ttl_seconds,
    }),
    baseDir: job.baseDir,
    // timeseries.csv is written into outputDir; without it, no timeseries (save_timeseries: false).
    ...(job.saveTimeseries ? { outputDir: job.experimentDir } : {}),
    onProgress: (progress: { stage?: unknown; message?: unknown }) => {
      void send({
        type: "progress",
        stage: String(progress?.stage ?? ""),
        message: String(progress?.message ?? ""),
      });
    },
  };
  return backends.runExperiment(job.config, options);
}

async function handle(job: WorkerJob): Promise<void> {
  const startedAt = new Date().toISOString();
  const log = process.env[TEST_LOG_ENV];
  if (log) appendFileSync(log, `${job.configHash} ${job.cycle}\n`);
  try {
    const fault = faultFor(job);
    const result = fault ? await runFault(fault, job, startedAt) : await runReal(job);
    finished = true;
    await send({ type: "result", result });
    process.exitCode = 0;
  } catch (error) {
    finished = true;
    const aborted = controller.signal.aborted;
    // LlemError codes are stable; class names are not (bundlers rename classes).
    const errorType = LlemError.isInstance(error)
      ? error.code
      : error instanceof Error
        ? error.name
        : "Error";
    const message = error instanceof Error ? error.message : String(error);
    if (!LlemError.isInstance(error) && error instanceof Error) console.error(error.stack);
    await send({
      type: "error",
      errorType: aborted ? "Interrupted" : errorType,
      code: LlemError.isInstance(error) ? error.code : null,
      message,
      aborted,
    });
    process.exitCode = 1;
  }
  // Everything the experiment does is done (the engine is torn down inside runExperiment); exit
  // now rather than wait for handles a library may leave behind.
  process.exit();
}

process.on("SIGTERM", () => controller.abort(new Error("SIGTERM")));
process.on("SIGINT", () => {}); // the parent decides; a terminal Ctrl-C is not ours
process.on("disconnect", () => {
  if (!finished) {
    controller.abort(new Error("parent went away"));
    setTimeout(() => process.exit(1), 5000).unref();
  }
});
process.once("message", (message: WorkerJob) => {
  if (message?.type === "run") void handle(message);
});
void send({ type: "ready" });
