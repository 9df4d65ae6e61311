import { readFileSync } from "node:fs";

/**
 * What /proc says of a process (Linux): its process group and its start time in clock ticks since
 * boot. A pid can be reused once its process is gone; the start time tells a reused pid from the
 * recorded process. Null where /proc is not there (macOS) or the process does not exist.
 */
export function processInfo(
  pid: number,
): { pgid: number; startTicks: number; zombie: boolean } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const zombie = fields[0] === "Z" || fields[0] === "X";
    const pgid = Number(fields[2]);
    const startTicks = Number(fields[19]);
    return Number.isFinite(pgid) && Number.isFinite(startTicks)
      ? { pgid, startTicks, zombie }
      : null;
  } catch {
    return null;
  }
}

/**
 * True while a process with this pid runs (and, given a start time, is the same process). A
 * zombie — dead, waiting for a parent that may itself be gone — does not count as running.
 */
export function isSameProcessAlive(pid: number, startTicks: number | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  const info = processInfo(pid);
  if (info?.zombie) return false;
  if (startTicks === null || info === null) return true;
  return info.startTicks === startTicks;
}

/** Sends a signal, ignoring a process that is already gone. */
export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}
