/**
 * The experiment process's side of the IPC protocol (protocol.ts), whatever runs the job: it
 * says `ready`, receives one job, runs it through `execute`, sends the result or the error back
 * and exits. The parent validates and writes the result; this process writes nothing but what
 * the engine itself writes (timeseries.csv, engine.log via stdout/stderr).
 *
 * SIGTERM aborts the job cleanly (the signal given to `execute` fires); if the parent goes away
 * (IPC disconnects) the job is aborted too, and within 5 s the process takes down its whole
 * process group — itself and everything the engine started (a server, its workers) — so a killed
 * runner never leaves an orphan burning the CPU or holding a GPU.
 */
import { readFileSync } from "node:fs";
import { LlemError } from "@llem/schema";
import type { WorkerJob, WorkerMessage } from "../protocol.js";

export interface JobContext {
  /** Fires on SIGTERM or when the parent goes away. */
  signal: AbortSignal;
  /** ISO-8601, when the job arrived. */
  startedAt: string;
  /** A stage of the running experiment, for the parent's progress display. */
  progress(stage: string, message: string): void;
}

export type JobExecutor = (job: WorkerJob, context: JobContext) => Promise<unknown>;

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

/** Whether this process leads its own process group (the runner forks it so: child.ts). */
function leadsOwnGroup(): boolean {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const pgid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
    return pgid === process.pid;
  } catch {
    return false; // not Linux: the runner's own group kill is all there is
  }
}

/**
 * SIGKILL to this process's group, itself included: what the runner does when a run ends, done
 * here when the runner is gone. Only when this process leads the group (never someone else's).
 */
function takeDownOwnGroup(exitCode: number): never {
  if (leadsOwnGroup()) {
    try {
      process.kill(-process.pid, "SIGKILL");
    } catch {
      // nothing left to kill
    }
  }
  process.exit(exitCode);
}

/** Serves exactly one job in this process with `execute`, then exits. */
export function serveOneJob(execute: JobExecutor): void {
  const controller = new AbortController();
  let finished = false;
  let parentGone = false;

  async function handle(job: WorkerJob): Promise<void> {
    const context: JobContext = {
      signal: controller.signal,
      startedAt: new Date().toISOString(),
      progress: (stage, message) => void send({ type: "progress", stage, message }),
    };
    try {
      const result = await execute(job, context);
      finished = true;
      await send({ type: "result", result });
      process.exitCode = 0;
    } catch (error) {
      finished = true;
      const aborted = controller.signal.aborted;
      // LlemError codes are stable; class names are not a contract.
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
    // Everything the job does is done (the engine is torn down inside it); exit now rather than
    // wait for handles a library may leave behind. With the parent gone nobody else will kill
    // what the engine may have left in the group, so this process does.
    if (parentGone) takeDownOwnGroup(process.exitCode === 0 ? 0 : 1);
    process.exit();
  }

  process.on("SIGTERM", () => controller.abort(new Error("SIGTERM")));
  process.on("SIGINT", () => {}); // the parent decides; a terminal Ctrl-C is not ours
  process.on("disconnect", () => {
    parentGone = true;
    if (!finished) {
      controller.abort(new Error("parent went away"));
      // A clean abort has 5 s; then the group goes, whatever the engine is stuck in.
      setTimeout(() => takeDownOwnGroup(1), 5000).unref();
    }
  });
  process.once("message", (message: WorkerJob) => {
    if (message?.type === "run") void handle(message);
  });
  void send({ type: "ready" });
}
