import { readFileSync } from "node:fs";

/** Linux's USER_HZ: /proc reports CPU times in these ticks (100 on every mainstream Linux build). */
const TICKS_PER_S = 100;

/** User + system CPU time of one process (all its threads) from /proc, µs; null when unreadable. */
export function procCpuTimeUs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 of stat(5) (utime, stime), counted from after the command name.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1e6) / TICKS_PER_S : null;
  } catch {
    return null;
  }
}

/**
 * A CPU time source for the estimate sampler that adds to this process's own time that of the
 * processes doing the engine's work beside it (a local server): an estimate of a server engine
 * must count the server's compute, not only the client's. A process that has exited keeps its
 * last reading, so the total never goes backwards.
 */
export function withProcessesCpuTime(pids: readonly number[]): () => number {
  const last = new Map<number, number>();
  return () => {
    const own = process.cpuUsage();
    let total = own.user + own.system;
    for (const pid of pids) {
      const now = procCpuTimeUs(pid);
      if (now !== null) last.set(pid, now);
      total += last.get(pid) ?? 0;
    }
    return total;
  };
}
