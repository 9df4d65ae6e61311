import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { open, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { LlemError, type Runner } from "@llem/schema";
import { abortedError } from "../aborted.js";
import { portIsFree } from "./free-port.js";
import { logTail } from "./log-tail.js";
import { processInfo, signalProcess } from "./process-info.js";
import type { LaunchPlan } from "./runners/index.js";
import { newServerRecord, type ServerRecord, writeServerRecord } from "./server-record.js";

export interface StartServerOptions {
  engine: string;
  runner: Runner;
  plan: LaunchPlan;
  /** Base URL the server answers on: `http://127.0.0.1:PORT`. */
  url: string;
  /** The port on 127.0.0.1 that `url` names (checked when the server fails to start). */
  hostPort: number;
  /** GET route that answers 200 once the server is ready. */
  healthPath: string;
  startupTimeoutMs: number;
  stopTimeoutMs: number;
  /** The server's stdout and stderr are appended here (the experiment's engine.log). */
  logPath: string;
  /** Where server.json is kept (the experiment dir); null: not recorded. */
  recordDir: string | null;
  /**
   * In a process group of its own, so that it can outlive this experiment process and serve the
   * next run (reuse_servers); otherwise it stays in the experiment's group and dies with it.
   */
  detached?: boolean;
  signal?: AbortSignal;
}

/** What an engine holds of a running server, started by it or adopted from an earlier run. */
export interface RunningServer {
  readonly pid: number | undefined;
  readonly containerPid: number | undefined;
  readonly startupS: number;
  readonly exitStatus: { code: number | null; signal: NodeJS.Signals | null } | null;
  describeExit(): string;
  logTail(lines?: number): string | null;
  stop(how?: string): Promise<void>;
}

const POLL_FIRST_MS = 50;
const POLL_MAX_MS = 500;
const HEALTH_REQUEST_TIMEOUT_MS = 5000;
const LOG_TAIL_LINES = 20;

/** Servers this process started and has not stopped: killed when it exits, however it exits. */
const running = new Set<ServerProcess>();
let exitHookInstalled = false;

/**
 * One server process (or container) for one experiment: spawned from an argument vector with its
 * output appended to engine.log, recorded in server.json before it starts, ready when its health
 * route answers 200, stopped politely (SIGTERM, or the runtime's stop) and then for good (SIGKILL,
 * `rm -f`). A local server stays in the experiment's process group, so whatever kills the group
 * kills it too; a container, which its runtime keeps apart, is removed by name.
 */
export class ServerProcess implements RunningServer {
  private child: ChildProcess;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exited: Promise<void>;
  private stopping: Promise<void> | null = null;
  /** Seconds from spawn to the first 200 of the health route. */
  startupS = 0;
  /** A container's main process as this machine sees it (podman/docker inspect), once ready. */
  containerPid: number | undefined;

  private constructor(
    private readonly options: StartServerOptions,
    child: ChildProcess,
    private readonly record: ServerRecord,
    private readonly logOffset: number,
  ) {
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve();
      });
    });
  }

  /**
   * Starts the server and waits until it is ready. Fails with SERVER_START_FAILED (it could not be
   * spawned), SERVER_EXITED (it exited before it was ready; `details.portTaken` when its port was
   * taken meanwhile) or SERVER_NOT_READY (startup timeout), each with the end of its log; a
   * server that failed is stopped before the error is thrown.
   */
  static async start(options: StartServerOptions): Promise<ServerProcess> {
    const log = await open(options.logPath, "a");
    const logOffset = (await stat(options.logPath)).size;
    const self = processInfo(process.pid);
    const record = newServerRecord({
      engine: options.engine,
      runner: options.runner,
      argv: [options.plan.command, ...options.plan.args],
      url: options.url,
      container: options.plan.container,
      owner: { pid: process.pid, start_ticks: self?.startTicks ?? null },
    });
    // On disk before anything starts: a container outlives a killed llem, and resume looks here.
    if (options.recordDir) await writeServerRecord(options.recordDir, record);
    let child: ChildProcess;
    let spawning: Promise<Error | null>;
    try {
      child = spawn(options.plan.command, options.plan.args, {
        stdio: ["ignore", log.fd, log.fd],
        env: options.plan.env,
        detached: options.detached === true,
      });
      // Listen before anything awaits: "spawn" or "error" comes on the next turn of the loop.
      spawning = new Promise<Error | null>((resolve) => {
        child.once("spawn", () => resolve(null));
        child.once("error", (error) => resolve(error));
      });
    } finally {
      await log.close();
    }
    const server = new ServerProcess(options, child, record, logOffset);
    const spawned = await spawning;
    if (spawned) {
      throw new LlemError(
        "SERVER_START_FAILED",
        `could not start ${options.engine}'s server ${JSON.stringify(options.plan.command)}: ${spawned.message}`,
        { cause: spawned, details: { argv: record.argv } },
      );
    }
    installExitHook();
    running.add(server);
    const info = child.pid === undefined ? null : processInfo(child.pid);
    record.pid = child.pid ?? null;
    record.pgid = info?.pgid ?? null;
    record.start_ticks = info?.startTicks ?? null;
    if (options.recordDir) await writeServerRecord(options.recordDir, record);
    const started = performance.now();
    try {
      await server.waitReady();
    } catch (error) {
      await server.stop("failed to start");
      throw error;
    }
    server.startupS = (performance.now() - started) / 1000;
    if (options.plan.container) server.containerPid = await inspectPid(options.plan.container);
    record.ready_at = new Date().toISOString();
    if (options.recordDir) await writeServerRecord(options.recordDir, record);
    return server;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** How the server exited, once it has; null while it runs. */
  get exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | null {
    return this.exit;
  }

  /** The last lines the server wrote to engine.log. */
  logTail(lines = LOG_TAIL_LINES): string | null {
    return logTail(this.options.logPath, this.logOffset, lines);
  }

  /** "exited with code 1" / "was killed by SIGKILL". */
  describeExit(): string {
    if (!this.exit) return "is running";
    return this.exit.signal
      ? `was killed by ${this.exit.signal}`
      : `exited with code ${this.exit.code}`;
  }

  private failure(code: "SERVER_EXITED" | "SERVER_NOT_READY", message: string, details = {}) {
    const tail = this.logTail();
    return new LlemError(
      code,
      `${message}${tail ? `\n--- last lines of the server log ---\n${tail}` : " (the server wrote nothing to engine.log)"}`,
      { details: { argv: this.record.argv, ...details } },
    );
  }

  private async waitReady(): Promise<void> {
    const { options } = this;
    const deadline = performance.now() + options.startupTimeoutMs;
    const healthUrl = `${options.url}${options.healthPath}`;
    let pause = POLL_FIRST_MS;
    for (;;) {
      if (options.signal?.aborted) throw abortedError(options.signal, "server startup");
      if (this.exit) {
        const portTaken = !(await portIsFree(options.hostPort));
        throw this.failure(
          "SERVER_EXITED",
          `${options.engine}'s server ${this.describeExit()} before it was ready${portTaken ? ` (port ${options.hostPort} is taken by another process)` : ""}`,
          { portTaken, exit: this.exit },
        );
      }
      if (await answers(healthUrl)) return;
      if (performance.now() > deadline) {
        throw this.failure(
          "SERVER_NOT_READY",
          `${options.engine}'s server was not ready within startup_timeout_s ${options.startupTimeoutMs / 1000} (GET ${options.healthPath} never answered 200)`,
        );
      }
      await Promise.race([sleep(pause), this.exited]);
      pause = Math.min(POLL_MAX_MS, pause * 2);
    }
  }

  /**
   * Stops the server: SIGTERM (a container: the runtime's stop, which does the same inside),
   * SIGKILL after `stopTimeoutMs`, then removes a container by name. Safe to call more than once.
   */
  stop(how = "stopped"): Promise<void> {
    this.stopping ??= this.stopNow(how);
    return this.stopping;
  }

  /**
   * Leaves the server running for the next run (reuse_servers): out of this process's exit hook,
   * its experiment's record saying where it went, `shared` describing it to whoever adopts it.
   */
  async handOver(sharedDir: string, key: string, owner: ServerRecord["owner"]): Promise<void> {
    // Once: whatever calls this again (dispose runs twice) finds it no longer ours.
    if (this.stopping) return;
    this.stopping = Promise.resolve();
    const shared: ServerRecord = {
      ...this.record,
      owner,
      key,
      log_path: this.options.logPath,
      stopped_at: null,
      stopped_how: null,
    };
    await writeServerRecord(sharedDir, shared);
    // Recorded where the next run looks: from here on it is not this process's to stop, and it
    // does not keep this process alive.
    running.delete(this);
    this.child.unref();
    this.record.stopped_at = new Date().toISOString();
    this.record.stopped_how = `handed over to the next run (${sharedDir})`;
    if (this.options.recordDir) await writeServerRecord(this.options.recordDir, this.record);
  }

  private async stopNow(how: string): Promise<void> {
    const { options, child } = this;
    const container = options.plan.container;
    const grace = options.stopTimeoutMs;
    // A detached server leads its own group: signal all of it.
    const target = child.pid === undefined ? undefined : options.detached ? -child.pid : child.pid;
    if (container) {
      await runQuietly(
        container.binary,
        ["stop", "--time", String(Math.ceil(grace / 1000)), container.name],
        grace + 15_000,
      );
    } else if (!this.exit && target !== undefined) {
      signalProcess(target, "SIGTERM");
    }
    if (!this.exit) {
      await Promise.race([this.exited, sleep(grace + (container ? 5000 : 0))]);
      if (!this.exit && target !== undefined) signalProcess(target, "SIGKILL");
      await Promise.race([this.exited, sleep(5000)]);
    }
    if (container) await runQuietly(container.binary, ["rm", "--force", container.name], 30_000);
    running.delete(this);
    this.record.stopped_at = new Date().toISOString();
    this.record.stopped_how = how;
    if (options.recordDir) await writeServerRecord(options.recordDir, this.record).catch(() => {});
  }
}

/** The host pid of a container's main process, where the runtime tells (rootful podman, docker). */
async function inspectPid(container: {
  binary: string;
  name: string;
}): Promise<number | undefined> {
  const answer = await new Promise<string>((resolve) => {
    const child = spawn(
      container.binary,
      ["inspect", "--format", "{{.State.Pid}}", container.name],
      {
        stdio: ["ignore", "pipe", "ignore"],
        timeout: 20_000,
      },
    );
    let out = "";
    child.stdout?.on("data", (chunk) => {
      out += chunk;
    });
    child.once("error", () => resolve(""));
    child.once("exit", () => resolve(out));
  });
  const pid = Number(answer.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** True when GET `url` answers 200 (any failure, including a slow answer, is "not yet"). */
async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(HEALTH_REQUEST_TIMEOUT_MS) });
    await response.arrayBuffer().catch(() => {});
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Runs a runtime command (podman stop …), ignoring its outcome: the container may be gone already. */
function runQuietly(command: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: "ignore", timeout: timeoutMs });
    child.once("error", () => resolve());
    child.once("exit", () => resolve());
  });
}

/**
 * However this process ends — a normal exit, process.exit() after an abort, an uncaught error —
 * the servers it still runs are killed first (synchronously: nothing else runs in an exit hook).
 * SIGKILL of this process skips every hook: then the process group (local servers) or the
 * leftover cleanup on resume (containers, from server.json) takes over.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const server of running) {
      const container = server["options"].plan.container;
      if (server.pid !== undefined && !server.exitStatus) signalProcess(server.pid, "SIGKILL");
      if (container)
        spawnSync(container.binary, ["rm", "--force", container.name], {
          stdio: "ignore",
          timeout: 20_000,
        });
    }
  });
}
