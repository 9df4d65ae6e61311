import { printable } from "@llem/schema/errors";
import type { StudyStatus } from "@llem/study";
import { EXIT } from "../exit-codes.js";
import { formatDuration } from "../output/format.js";
import { renderStatus } from "../output/status-text.js";
import { isInteractive } from "../output/style.js";

/**
 * One line of a watched study, for logs and pipes: progress, what runs, the ETA and the holder.
 *
 *   quickstart: 3/8 done (3 completed, 0 failed, 5 left); running c1 llamacpp / … / batch=4
 *   (12s); ETA 1m 05s; held by host pid 4242
 */
export function statusLine(status: StudyStatus): string {
  const { counts } = status;
  const done = counts.completed + counts.failed;
  const parts = [
    `${printable(status.studyName)}: ${done}/${counts.total} done (${counts.completed} completed, ${counts.failed} failed, ${counts.total - done} left)`,
  ];
  for (const run of status.running) parts.push(`running c${run.cycle} ${printable(run.summary)}`);
  if (status.lockHolder && counts.pending + counts.running > 0) {
    parts.push(
      `ETA ${status.etaSeconds === null ? "unknown until a run completes" : formatDuration(status.etaSeconds)}`,
    );
  }
  parts.push(
    status.lockHolder
      ? `held by ${printable(status.lockHolder.host)} pid ${status.lockHolder.pid}`
      : `not running (${status.status})`,
  );
  return parts.join("; ");
}

/** The status with the running runs' elapsed times brought up to `now` (for a ticking screen). */
function aged(status: StudyStatus, now: number): StudyStatus {
  return {
    ...status,
    running: status.running.map((run) => ({
      ...run,
      elapsedS: Math.max(0, (now - Date.parse(run.startedAt)) / 1000),
    })),
  };
}

/**
 * `llem status --watch DIR`: follows a study another process runs until it finishes (exit 0) or
 * Ctrl-C (exit 130). On a terminal the status screen is redrawn in place, every second and on each
 * change; otherwise one plain line is printed per change.
 */
export async function watchStatus(studyDir: string): Promise<number> {
  const { isStudyFinished, watchStudyStatus } = await import("@llem/study/status");
  const terminal = isInteractive(process.stdout);
  const controller = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    controller.abort();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let latest: StudyStatus | undefined;
  let previousLine = "";
  const draw = () => {
    if (!latest) return;
    const footer = isStudyFinished(latest) ? "" : "\nwatching for changes (Ctrl-C to stop)\n";
    // Home, clear the screen, then the status: the screen reads as one live view.
    process.stdout.write(`\u001b[H\u001b[2J${renderStatus(aged(latest, Date.now()))}${footer}`);
  };
  const ticker = terminal ? setInterval(draw, 1000) : undefined;
  try {
    const final = await watchStudyStatus(
      studyDir,
      (status) => {
        latest = status;
        if (terminal) return draw();
        const line = statusLine(status);
        if (line === previousLine) return;
        previousLine = line;
        process.stdout.write(`${new Date().toISOString()} ${line}\n`);
      },
      { signal: controller.signal },
    );
    if (!terminal && !interrupted) process.stdout.write(`study ${final.status}\n`);
  } finally {
    clearInterval(ticker);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  return interrupted ? EXIT.interrupted : EXIT.ok;
}
