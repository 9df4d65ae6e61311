import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { isSameProcessAlive, processInfo, signalProcess } from "./process-info.js";
import { readServerRecord, writeServerRecord } from "./server-record.js";

/** What the cleanup found in one experiment dir. */
export type LeftoverOutcome =
  | { kind: "none" }
  | { kind: "stopped"; detail: string }
  | { kind: "skipped"; detail: string };

const GRACE_MS = 5000;

/**
 * Stops what a dead run left behind in its experiment dir, from its server.json: the local
 * server process (and the rest of its old process group), or the container by name. A record
 * whose owner — the experiment process that started the server — is still alive is left alone
 * (another worker is running it), and so is one from another machine (its processes are not
 * here to stop). Called for every experiment dir when a study resumes, and for a run's own dir
 * when its experiment process did not end cleanly (timeout, SIGKILL).
 */
export async function stopLeftoverServer(experimentDir: string): Promise<LeftoverOutcome> {
  const record = await readServerRecord(experimentDir);
  if (!record || record.stopped_at) return { kind: "none" };
  if (record.host !== hostname()) {
    return {
      kind: "skipped",
      detail: `${experimentDir}: its server was started on ${record.host}, not here; stop it there`,
    };
  }
  if (isSameProcessAlive(record.owner.pid, record.owner.start_ticks)) {
    return {
      kind: "skipped",
      detail: `${experimentDir}: its run is still going (pid ${record.owner.pid})`,
    };
  }
  const stopped: string[] = [];
  if (record.container) {
    const { binary, name } = record.container;
    const removal = spawnSync(binary, ["rm", "--force", name], {
      encoding: "utf8",
      timeout: 60_000,
    });
    if (removal.status === 0 && removal.stdout.trim() !== "") stopped.push(`container ${name}`);
  }
  if (record.pid !== null && isSameProcessAlive(record.pid, record.start_ticks)) {
    signalProcess(record.pid, "SIGTERM");
    const deadline = Date.now() + GRACE_MS;
    while (Date.now() < deadline && isSameProcessAlive(record.pid, record.start_ticks))
      await sleep(100);
    if (isSameProcessAlive(record.pid, record.start_ticks)) signalProcess(record.pid, "SIGKILL");
    stopped.push(`${record.engine} server pid ${record.pid}`);
  }
  // The rest of the dead run's process group (a server's own children): only a group the dead
  // experiment process led (a study's run), and only while no process holds its id again.
  const group = record.pgid;
  if (group !== null && group === record.owner.pid && processInfo(group) === null) {
    if (signalProcess(-group, "SIGKILL")) stopped.push(`process group ${group}`);
  }
  record.stopped_at = new Date().toISOString();
  record.stopped_how =
    stopped.length > 0
      ? `left over; stopped on cleanup (${stopped.join(", ")})`
      : "left over; already gone";
  await writeServerRecord(experimentDir, record);
  return stopped.length > 0
    ? { kind: "stopped", detail: `${experimentDir}: stopped ${stopped.join(", ")}` }
    : { kind: "none" };
}
