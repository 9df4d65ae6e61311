import { LlemError } from "@llem/schema";
import type { StudyEvent } from "../types.js";
import { type RunWorkerOptions, runWorker, type WorkerOutcome } from "./worker-loop.js";

/** What the multi-worker parent sends a worker process. */
export type ToWorker =
  | {
      type: "start";
      options: Omit<RunWorkerOptions, "signal" | "forceKill" | "onEvent" | "onDrift">;
      /** The parent confirmed a changed study.yaml already. */
      acceptDrift: boolean;
    }
  | { type: "stop" }
  | { type: "kill" };

/** What a worker process sends back. */
export type FromWorker =
  | { type: "ready" }
  | { type: "event"; event: StudyEvent }
  | { type: "outcome"; outcome: WorkerOutcome }
  | { type: "error"; code: string | null; message: string };

function send(message: FromWorker): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

export function serveWorkerProcess(): void {
  const stop = new AbortController();
  const kill = new AbortController();
  process.on("SIGINT", () => {});
  process.on("SIGTERM", () => stop.abort(new Error("SIGTERM")));
  process.on("disconnect", () => stop.abort(new Error("the parent went away")));
  process.on("message", (message: ToWorker) => {
    if (message?.type === "stop") stop.abort(new Error("stopped by the parent"));
    else if (message?.type === "kill") kill.abort(new Error("killed by the parent"));
    else if (message?.type === "start") void start(message);
  });
  async function start(message: Extract<ToWorker, { type: "start" }>): Promise<void> {
    try {
      const outcome = await runWorker({
        ...message.options,
        signal: stop.signal,
        forceKill: kill.signal,
        onEvent: (event) => void send({ type: "event", event }),
        ...(message.acceptDrift ? { onDrift: async () => true } : {}),
      });
      await send({ type: "outcome", outcome });
      process.exit(0);
    } catch (error) {
      await send({
        type: "error",
        code: LlemError.isInstance(error) ? error.code : null,
        message: error instanceof Error ? error.message : String(error),
      });
      process.exit(1);
    }
  }
  void send({ type: "ready" });
}
