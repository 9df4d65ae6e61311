import { printable } from "@llem/schema/errors";
import type { StudyStatus } from "@llem/study";
import { formatDuration, plural } from "./format.js";
import { llemHint } from "./self-command.js";
import { styleFor } from "./style.js";

const FAILURES_SHOWN = 10;

/**
 * A study's status as text for a person (`llem status`, and each frame of `--watch`): counts
 * and progress, who runs it (the runner, or each worker with the run it holds), the running runs,
 * the first failures, and how to resume; every text from the manifest made printable.
 */
export function renderStatus(raw: StudyStatus): string {
  const status = printableStatus(raw);
  const style = styleFor(process.stdout);
  const { counts } = status;
  const done = counts.completed + counts.failed;
  const percent = counts.total === 0 ? 100 : Math.floor((done / counts.total) * 100);
  const out: string[] = [];
  out.push(`${style.bold(`Study ${printable(status.studyName)}`)}  ${printable(status.studyDir)}`);
  const holder = status.lockHolder;
  const resume = llemHint(`run --resume ${status.studyDir}`, "             ");
  const liveWorkers = status.workers.filter((worker) => worker.state === "running");
  // Workers take the lock only for each call: the study runs while any of them is alive.
  const running = (holder !== null && holder.alive !== false) || liveWorkers.length > 0;
  const state =
    liveWorkers.length > 0
      ? `running (${liveWorkers.length} worker${liveWorkers.length === 1 ? "" : "s"})`
      : holder && running
        ? `running (by ${holder.host} pid ${holder.pid} since ${holder.since})`
        : holder
          ? `not running: its runner (${holder.host} pid ${holder.pid}, since ${holder.since}) is gone; the runs it left running are re-run on resume: ${resume}`
          : status.status === "running"
            ? `not running (stopped or killed); resume with ${resume}`
            : status.status;
  out.push(`  state      ${state}`);
  out.push(
    `  started    ${status.startedAt}${status.completedAt ? `, ended ${status.completedAt}` : ""}`,
  );
  out.push(
    `  progress   ${done}/${counts.total} (${percent}%): ${counts.completed} completed, ${counts.failed} failed, ${counts.running} running, ${counts.pending} pending`,
  );
  if (status.meanRunSeconds !== null) {
    out.push(`  per run    ${formatDuration(status.meanRunSeconds)} on average`);
  }
  if (running && counts.pending + counts.running > 0) {
    out.push(
      `  ETA        ${status.etaSeconds === null ? "unknown until a run completes" : formatDuration(status.etaSeconds)}`,
    );
  } else if (!running && counts.pending + counts.running + counts.failed > 0) {
    // A resume re-runs pending, interrupted and failed runs.
    const toRun = counts.pending + counts.running + counts.failed;
    const seconds = status.meanRunSeconds === null ? null : toRun * status.meanRunSeconds;
    out.push(
      `  to resume  ${plural(toRun, "run")}, about ${seconds === null ? "? (no run completed yet)" : formatDuration(seconds)}`,
    );
  }
  if (status.running.length > 0) {
    out.push("", running ? "Running:" : "Marked running (interrupted; re-run on resume):");
    for (const run of status.running) {
      const holderText =
        run.worker === undefined
          ? ""
          : `  by ${printable(run.worker)}, heartbeat ${formatDuration(run.heartbeatAgeS ?? 0)} ago`;
      out.push(
        `  c${run.cycle}  ${printable(run.summary)}  for ${formatDuration(run.elapsedS)} (since ${run.startedAt})${holderText}`,
      );
    }
  }
  if (status.workers.length > 0) {
    out.push("", `Workers (${status.workers.length}):`);
    for (const worker of status.workers) out.push(`  ${workerLine(worker)}`);
  }
  if (status.failures.length > 0) {
    out.push("", `Failures (${status.failures.length}):`);
    for (const failure of status.failures.slice(0, FAILURES_SHOWN)) {
      out.push(
        `  ${style.red("✗")} c${failure.cycle}  ${printable(failure.summary)}: ${printable(failure.errorType ?? "error")}: ${printable(failure.errorMessage ?? "no message")}`,
      );
    }
    if (status.failures.length > FAILURES_SHOWN) {
      out.push(`  … and ${status.failures.length - FAILURES_SHOWN} more (llem status --json)`);
    }
  }
  return `${out.join("\n")}\n`;
}

/** The status with every text from the manifest made printable (names, errors, the holder). */
function printableStatus(status: StudyStatus): StudyStatus {
  return {
    ...status,
    studyDir: printable(status.studyDir),
    studyName: printable(status.studyName),
    status: printable(status.status),
    startedAt: printable(status.startedAt),
    completedAt: status.completedAt === null ? null : printable(status.completedAt),
    running: status.running.map((run) => ({
      ...run,
      summary: printable(run.summary),
      startedAt: printable(run.startedAt),
    })),
    failures: status.failures.map((failure) => ({
      ...failure,
      summary: printable(failure.summary),
      errorType: failure.errorType === null ? null : printable(failure.errorType),
      errorMessage: failure.errorMessage === null ? null : printable(failure.errorMessage),
    })),
    lockHolder: status.lockHolder && {
      ...status.lockHolder,
      host: printable(status.lockHolder.host),
      since: printable(status.lockHolder.since),
    },
  };
}

/** One worker: who and where, what it holds now (with its heartbeat), or why it stopped. */
function workerLine(worker: StudyStatus["workers"][number]): string {
  const where = [
    worker.slurm ? `SLURM ${worker.slurm}` : undefined,
    worker.cpus ? `cpus ${worker.cpus}` : undefined,
    worker.gpus ? `gpus ${worker.gpus}` : undefined,
  ]
    .filter(Boolean)
    .join(", ");
  const who = `${printable(worker.worker)}${where ? ` (${printable(where)})` : ""}`;
  const ran = worker.runs === null ? "" : `, ${worker.runs} run${worker.runs === 1 ? "" : "s"}`;
  if (worker.state === "stopped") {
    return `${who}: stopped (${printable(worker.reason ?? "?")}${ran}): ${printable(worker.message ?? "")}`;
  }
  const holding = worker.current
    ? `runs c${worker.current.cycle} ${printable(worker.current.summary)}, heartbeat ${formatDuration(worker.heartbeatAgeS ?? 0)} ago`
    : "between runs";
  if (worker.state === "gone") {
    return `${who}: gone (pid ${worker.pid} no longer exists${ran}); ${worker.current ? "its run is re-run by another worker" : "it held no run"}`;
  }
  return `${who}: ${holding}${ran}`;
}
