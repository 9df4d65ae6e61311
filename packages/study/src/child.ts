import { type ChildProcess, fork } from "node:child_process";
import { existsSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  engineDefinition,
  type GpuPlacement,
  gpuProcessEnv,
  placeExperiment,
} from "@llem/backends";
import { LlemError } from "@llem/schema";
import type { WorkerJob, WorkerMessage } from "./protocol.js";
import { clearProcessRecord, recordProcessGroup } from "./runner/leftovers.js";
import { setLongTimeout } from "./runner/timers.js";

/** How one experiment process ended. */
export type ChildOutcome =
  | { kind: "result"; result: unknown }
  | { kind: "error"; errorType: string; message: string; aborted: boolean }
  | { kind: "timeout"; timeoutS: number }
  | { kind: "crash"; exitCode: number | null; signal: NodeJS.Signals | null; detail: string };

export interface RunChildOptions {
  job: WorkerJob;
  timeoutS: number;
  /** First interrupt: SIGTERM to the group (the worker aborts the experiment cleanly). */
  signal?: AbortSignal;
  /** Second interrupt: SIGKILL to the group. */
  forceKill?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  workerPath?: string;
  /** Pin the experiment process (and all it starts) to these CPU cores: a `taskset -c` list. */
  cpus?: string;
  onProgress?: (stage: string, message: string) => void;
}

/**
 * The worker script: `worker.js` beside this module in dist; from the TypeScript sources, the
 * built one in ../dist. `LLEM_STUDY_WORKER` overrides both — in the environment given for the
 * experiment processes, else in this process's (tests point it at their fault-injecting worker).
 */
export function defaultWorkerPath(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.LLEM_STUDY_WORKER || process.env.LLEM_STUDY_WORKER;
  if (override) return override;
  const here = fileURLToPath(new URL(".", import.meta.url));
  const beside = join(here, "worker.js");
  if (existsSync(beside)) return beside;
  return join(here, "..", "dist", "worker.js");
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal); // the worker leads its own group (detached: true)
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Runs one experiment in a fresh process that leads its own process group, so that the timeout,
 * an interrupt or a crash takes down everything the engine started. stdout/stderr go to
 * `<experimentDir>/engine.log`. Never rejects for anything the child does.
 */
export async function runInChild(options: RunChildOptions): Promise<ChildOutcome> {
  const base = options.env ?? process.env;
  // The experiment's GPUs are placed here, before its process starts: CUDA reads
  // CUDA_VISIBLE_DEVICES once, so only the parent can give an in-process engine its GPUs.
  let placement: GpuPlacement | null;
  try {
    placement = await placeExperiment(options.job.config, base);
  } catch (error) {
    return {
      kind: "error",
      errorType: LlemError.isInstance(error) ? error.code : "GPU_UNAVAILABLE",
      message: error instanceof Error ? error.message : String(error),
      aborted: false,
    };
  }
  const job: WorkerJob = { ...options.job, gpuPlacement: placement };
  const log = await open(join(job.experimentDir, "engine.log"), "a");
  // Some engines need settings only a parent can make (llama.cpp: libuv's pool size).
  const env = gpuProcessEnv(
    placement,
    engineDefinition(job.config.engine)?.processEnv(base) ?? base,
  );
  let child: ChildProcess;
  try {
    // Pinned: `taskset -c CPUS node worker.js` — taskset sets the affinity and execs node in the
    // same process, so the IPC channel, the process group and every child inherit it.
    const pinned = options.cpus
      ? { execPath: "taskset", execArgv: ["-c", options.cpus, process.execPath] }
      : { execArgv: [] };
    child = fork(options.workerPath ?? defaultWorkerPath(base), [], {
      detached: true,
      stdio: ["ignore", log.fd, log.fd, "ipc"],
      env,
      serialization: "advanced",
      ...pinned,
    });
  } catch (error) {
    await log.close();
    return {
      kind: "crash",
      exitCode: null,
      signal: null,
      detail: `could not start the experiment process: ${(error as Error).message}`,
    };
  }
  // What this run started, for a resume after a crash to stop (runner/leftovers.ts).
  const recorded =
    child.pid === undefined
      ? Promise.resolve()
      : recordProcessGroup(job.experimentDir, child.pid).catch(() => {});
  let message: WorkerMessage | undefined;
  let timedOut = false;
  const cleanups: (() => void)[] = [];
  const outcome = await new Promise<ChildOutcome>((resolve) => {
    child.on("message", (incoming: WorkerMessage) => {
      if (incoming.type === "ready") child.send(job);
      else if (incoming.type === "progress") options.onProgress?.(incoming.stage, incoming.message);
      else message = incoming;
    });
    child.on("error", () => {
      // surfaced through "exit" (or never spawned: handled there too)
    });
    // Any length: a plain setTimeout would fire at once past 24.8 days (runner/timers.ts).
    const cancelTimer = setLongTimeout(() => {
      timedOut = true;
      killGroup(child, "SIGKILL");
    }, options.timeoutS * 1000);
    cleanups.push(cancelTimer);
    const onAbort = () => killGroup(child, "SIGTERM");
    const onForce = () => killGroup(child, "SIGKILL");
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.forceKill?.aborted) onForce();
    else options.forceKill?.addEventListener("abort", onForce, { once: true });
    cleanups.push(() => {
      options.signal?.removeEventListener("abort", onAbort);
      options.forceKill?.removeEventListener("abort", onForce);
    });
    let exit: { exitCode: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    const settle = () => {
      if (settled || exit === undefined) return;
      settled = true;
      const { exitCode, signal } = exit;
      if (timedOut) return resolve({ kind: "timeout", timeoutS: options.timeoutS });
      if (message?.type === "result") return resolve({ kind: "result", result: message.result });
      if (message?.type === "error") {
        return resolve({
          kind: "error",
          errorType: message.errorType,
          message: message.message,
          aborted: message.aborted,
        });
      }
      const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
      resolve({
        kind: "crash",
        exitCode,
        signal,
        detail: `experiment process ${how} without sending a result (see engine.log)`,
      });
    };
    // Messages and the channel's end arrive in order on one pipe; "exit" may come first.
    child.on("disconnect", settle);
    child.on("exit", (exitCode, signal) => {
      exit = { exitCode, signal };
      // The group may outlive its leader (a grandchild): make sure nothing stays behind.
      killGroup(child, "SIGKILL");
      if (!child.connected) settle();
      else setTimeout(settle, 1000).unref();
    });
  });
  for (const cleanup of cleanups) cleanup();
  // The group was killed on exit: nothing of this run is left to stop.
  await recorded;
  await clearProcessRecord(job.experimentDir).catch(() => {});
  await log.close();
  return outcome;
}
