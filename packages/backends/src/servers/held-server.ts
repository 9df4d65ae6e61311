import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { logTail } from "./log-tail.js";
import { isSameProcessAlive, signalProcess } from "./process-info.js";
import type { RunningServer } from "./server-process.js";
import { readServerRecord, type ServerRecord, writeServerRecord } from "./server-record.js";

/**
 * A server an earlier run of the same server configuration left running (reuse_servers), taken
 * over from its shared record. It was started detached, so it leads its own process group;
 * stopping it signals that group (or stops its container) and marks the record stopped.
 */
export class HeldServer implements RunningServer {
  readonly startupS = 0;
  readonly containerPid: number | undefined = undefined;
  private stopped: Promise<void> | null = null;

  private constructor(
    private readonly record: ServerRecord,
    private readonly recordDir: string,
    private readonly stopTimeoutMs: number,
  ) {}

  /**
   * The held server in `recordFile` when it is still the same process, still serving (its health
   * route answers 200) and was started for the same server key; else null.
   */
  static async adopt(
    recordFile: string,
    key: string,
    healthPath: string,
    stopTimeoutMs: number,
  ): Promise<HeldServer | null> {
    const recordDir = dirname(recordFile);
    const record = await readServerRecord(recordDir);
    if (!record || record.stopped_at || record.pid === null) return null;
    if (record.key !== key || record.host !== hostname()) return null;
    if (!isSameProcessAlive(record.pid, record.start_ticks)) return null;
    const healthy = await fetch(`${record.url}${healthPath}`, { signal: AbortSignal.timeout(5000) })
      .then((response) => response.status === 200)
      .catch(() => false);
    return healthy ? new HeldServer(record, recordDir, stopTimeoutMs) : null;
  }

  get pid(): number | undefined {
    return this.record.pid ?? undefined;
  }

  get url(): string {
    return this.record.url;
  }

  get argv(): string[] {
    return this.record.argv;
  }

  get exitStatus() {
    return this.record.pid !== null && isSameProcessAlive(this.record.pid, this.record.start_ticks)
      ? null
      : { code: null, signal: null };
  }

  describeExit(): string {
    return this.exitStatus ? "exited" : "is running";
  }

  logTail(lines = 20): string | null {
    return this.record.log_path ? logTail(this.record.log_path, 0, lines) : null;
  }

  /** Hands it on again (the next run shares it too): the record stays as it is. */
  keep(): void {
    this.stopped = Promise.resolve();
  }

  stop(how = "stopped"): Promise<void> {
    this.stopped ??= stopHeld(this.record, this.recordDir, this.stopTimeoutMs, how);
    return this.stopped;
  }
}

/** Stops a held server: SIGTERM to its group (or the runtime's stop), SIGKILL after the grace. */
async function stopHeld(
  record: ServerRecord,
  recordDir: string,
  graceMs: number,
  how: string,
): Promise<void> {
  if (record.container) {
    const { binary, name } = record.container;
    const options = { stdio: "ignore", timeout: graceMs + 30_000 } as const;
    spawnSync(binary, ["stop", "--time", String(Math.ceil(graceMs / 1000)), name], options);
    spawnSync(binary, ["rm", "--force", name], options);
  }
  const pid = record.pid;
  if (pid !== null && isSameProcessAlive(pid, record.start_ticks)) {
    signalProcess(-pid, "SIGTERM") || signalProcess(pid, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && isSameProcessAlive(pid, record.start_ticks)) await sleep(100);
    if (isSameProcessAlive(pid, record.start_ticks))
      signalProcess(-pid, "SIGKILL") || signalProcess(pid, "SIGKILL");
  }
  record.stopped_at = new Date().toISOString();
  record.stopped_how = how;
  await writeServerRecord(recordDir, record).catch(() => {});
}

/** Stops the held server described in `recordFile` (the study runner, when no next run takes it). */
export async function stopHeldServer(recordFile: string, how: string): Promise<boolean> {
  const recordDir = dirname(recordFile);
  const record = await readServerRecord(recordDir);
  if (!record || record.host !== hostname()) return false;
  // A record marked stopped whose process still runs (same pid, same start) is stopped anyway.
  const alive = record.pid !== null && isSameProcessAlive(record.pid, record.start_ticks);
  if (record.stopped_at && !alive) return false;
  await stopHeld(record, recordDir, 10_000, how);
  return true;
}
