import { printable, printableMessage } from "@llem/schema/errors";
import type { StudyEvent as ProgressEvent } from "@llem/study";
import { ESTIMATED_MARK, formatDuration, sig3 } from "./format.js";
import { jsonLine } from "./json.js";
import { isInteractive, type Style, styleFor } from "./style.js";

/** Turns study events into output: JSON lines, plain log lines, or a live progress bar. */
export interface Reporter {
  onEvent(event: ProgressEvent): void;
  /** A message for the person running the study (interrupt notices …), never in JSON output. */
  notice(text: string): void;
  close(): void;
}

export function createReporter(options: { json: boolean }): Reporter {
  if (options.json) return new JsonReporter();
  const stream = process.stderr;
  return isInteractive(stream)
    ? new TtyReporter(stream, styleFor(stream))
    : new PlainReporter(stream, styleFor(stream));
}

class JsonReporter implements Reporter {
  onEvent(event: ProgressEvent): void {
    process.stdout.write(jsonLine(event));
  }
  notice(text: string): void {
    process.stderr.write(`${text}\n`);
  }
  close(): void {}
}

interface CurrentRun {
  summary: string;
  cycle: number;
  position: number;
  startedAt: number;
  stage?: string;
}

/** The short name of a worker in output: `w2`, `slurm-1234_5` (the id adds host and pid). */
export function workerLabel(worker: string): string {
  return worker.split("@")[0] ?? worker;
}

/** Progress state shared by the plain and TTY renderers (one runner, or several workers). */
class Tracker {
  total = 0;
  done = 0;
  /** When this session's first run started, and how many runs it finished since, and when. */
  private sessionStart: number | undefined;
  private finishedInSession = 0;
  private lastFinishAt = 0;
  /** The run in flight per worker ("" for a single runner). */
  readonly currents = new Map<string, CurrentRun>();
  gapUntil: number | undefined;
  readonly positions = new Map<string, number>();

  get current(): CurrentRun | undefined {
    return this.currents.size === 1 ? [...this.currents.values()][0] : undefined;
  }

  apply(event: ProgressEvent): void {
    const worker = event.worker ?? "";
    switch (event.type) {
      case "study_started":
        this.total = event.totalRuns;
        this.done = event.totalRuns - event.remainingRuns;
        break;
      case "run_started": {
        this.sessionStart ??= Date.now();
        this.total = Math.max(this.total, event.total);
        // Several workers count positions each for themselves: number runs as they start here.
        const position =
          event.worker === undefined ? event.position : this.done + this.currents.size + 1;
        this.positions.set(`${event.configHash}:${event.cycle}`, position);
        this.currents.set(worker, {
          summary: event.summary,
          cycle: event.cycle,
          position,
          startedAt: Date.now(),
        });
        this.gapUntil = undefined;
        break;
      }
      case "run_progress": {
        const current = this.currents.get(worker);
        if (current) current.stage = event.stage;
        break;
      }
      case "run_finished":
        this.done++;
        this.finishedInSession++;
        this.lastFinishAt = Date.now();
        this.currents.delete(worker);
        break;
      case "run_lost":
      case "worker_finished":
      case "worker_exited":
        this.currents.delete(worker);
        break;
      case "gap":
        this.gapUntil = Date.now() + event.seconds * 1000;
        break;
      default:
        break;
    }
  }

  positionOf(configHash: string, cycle: number): number | undefined {
    return this.positions.get(`${configHash}:${cycle}`);
  }

  /**
   * Remaining seconds: the wall time per run so far in this session (spawn, load, gaps and all)
   * × runs left, minus the current run's progress. Unknown until a run has finished.
   */
  etaSeconds(): number | null {
    if (this.sessionStart === undefined || this.finishedInSession === 0) return null;
    const perRun = (this.lastFinishAt - this.sessionStart) / 1000 / this.finishedInSession;
    const left = Math.max(0, this.total - this.done);
    const current = this.current;
    const currentElapsed = current ? (Date.now() - current.startedAt) / 1000 : 0;
    return Math.max(0, left * perRun - Math.min(currentElapsed, perRun));
  }
}

/** `[w2] ` before a worker's lines; nothing for a single runner. */
function byWorker(event: ProgressEvent): string {
  return event.worker === undefined ? "" : `[${workerLabel(event.worker)}] `;
}

function width(total: number): number {
  return String(total).length;
}

function runLabel(position: number | undefined, total: number, cycle: number): string {
  const pos = position === undefined ? "?" : String(position).padStart(width(total));
  return `[${pos}/${total}] c${cycle}`;
}

/** One line per finished run: config, J/token (marked when estimated), tok/s, duration, status. */
function finishedLine(
  event: Extract<ProgressEvent, { type: "run_finished" }>,
  tracker: Tracker,
  style: Style,
): string {
  const label = runLabel(
    tracker.positionOf(event.configHash, event.cycle),
    tracker.total,
    event.cycle,
  );
  if (event.status === "completed") {
    const energy =
      event.energyPerOutputTokenJ === null
        ? "no energy"
        : `${sig3(event.energyPerOutputTokenJ)} J/tok${event.energyMethod === "estimated" ? ` ${ESTIMATED_MARK}` : ""}`;
    const speed =
      event.outputTokensPerS === null ? "- tok/s" : `${sig3(event.outputTokensPerS)} tok/s`;
    return `${style.green("✓")} ${byWorker(event)}${label}  ${event.summary}  ${energy}  ${speed}  ${formatDuration(event.durationS)}  completed`;
  }
  const why = event.error ? `${event.error.type}: ${event.error.message}` : "no error recorded";
  return `${style.red("✗")} ${byWorker(event)}${label}  ${event.summary}  failed after ${formatDuration(event.durationS)}: ${why}`;
}

function otherLine(event: ProgressEvent, style: Style): string | undefined {
  const who = byWorker(event);
  switch (event.type) {
    case "worker_started": {
      const where = [
        event.slurm ? `SLURM ${event.slurm}` : undefined,
        event.cpus ? `cpus ${event.cpus}` : undefined,
        event.gpus ? `gpus ${event.gpus}` : undefined,
      ].filter(Boolean);
      return style.dim(
        `${who}worker ${event.worker} started${where.length > 0 ? ` (${where.join(", ")})` : ""}`,
      );
    }
    case "worker_finished":
      return event.reason === "done" || event.reason === "interrupted"
        ? style.dim(`${who}worker done: ${event.message}`)
        : style.yellow(`${who}worker stopped (${event.reason}): ${event.message}`);
    case "worker_exited":
      return style.yellow(
        `${who}worker process ended (${event.signal ?? `exit code ${event.code}`}) without finishing; a run it held is re-run by another worker`,
      );
    case "run_lost":
      return style.yellow(
        `${who}lost the lease on c${event.cycle} ${event.configHash.slice(0, 8)} (attempt ${event.attempt}) while stalled: another worker re-runs it; nothing was written for this attempt`,
      );
    case "warning":
      return style.yellow(`warning: ${event.message}`);
    case "study_started":
      if (event.worker !== undefined) {
        return `${who}joined ${event.studyDir}: ${event.remainingRuns} of ${event.totalRuns} runs to go`;
      }
      return event.resumed
        ? `Resuming ${event.studyDir}: ${event.remainingRuns} of ${event.totalRuns} run${event.totalRuns === 1 ? "" : "s"} to go`
        : `Study dir ${event.studyDir}: ${event.totalRuns} run${event.totalRuns === 1 ? "" : "s"}`;
    case "gap":
      return event.seconds > 0
        ? style.dim(
            `  ${event.reason === "cycle" ? "cycle" : event.reason === "circuit_breaker" ? "circuit breaker" : "experiment"} gap: ${formatDuration(event.seconds)}`,
          )
        : undefined;
    case "circuit_stopped":
      return style.yellow(
        event.worker === undefined
          ? `Circuit breaker: ${event.consecutiveFailures} failures in a row again after the probe; stopping, the rest stay pending`
          : `${who}circuit breaker: ${event.consecutiveFailures} failures in a row again after the probe; this worker stops, the others go on`,
      );
    case "circuit_open":
      return style.yellow(
        `${who}Circuit breaker open after ${event.consecutiveFailures} failures in a row; cooling down ${formatDuration(event.cooldownSeconds)} before one probe run`,
      );
    case "leftovers_stopped":
      return style.yellow(
        `Stopped ${event.processes} process${event.processes === 1 ? "" : "es"} that ${event.experimentDirs.length === 1 ? "a dead run" : `${event.experimentDirs.length} dead runs`} left running`,
      );
    case "deadline_reached":
      return style.yellow(`${who}Wall-clock deadline reached; the remaining runs stay pending`);
    case "interrupted":
      // The signal handler said "stopping … cleanly" when it came; this is how it ended.
      return style.yellow(
        event.signalCount > 1
          ? "Interrupted: the current experiment was killed; unfinished runs stay pending"
          : "Interrupted: the current experiment stopped; unfinished runs stay pending",
      );
    case "study_finished":
      return undefined; // the command prints the outcome on stdout
    default:
      return undefined;
  }
}

/**
 * The event with every text that came from a config or a file made printable (an ESC sequence
 * in a model name is shown escaped, never sent to the terminal).
 */
function printableEvent(event: ProgressEvent): ProgressEvent {
  const copy = { ...event } as Record<string, unknown>;
  for (const key of ["summary", "studyDir", "stage", "message", "summaryFile"]) {
    if (typeof copy[key] === "string") copy[key] = printable(copy[key] as string);
  }
  if (Array.isArray(copy.experimentDirs)) {
    copy.experimentDirs = (copy.experimentDirs as string[]).map(printable);
  }
  const error = copy.error as { type: string; message: string } | undefined;
  if (error) copy.error = { type: printable(error.type), message: printable(error.message) };
  return copy as unknown as ProgressEvent;
}

/** Not a TTY: plain lines, no escape codes, one per event worth logging. */
class PlainReporter implements Reporter {
  private readonly tracker: Tracker;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly style: Style,
  ) {
    this.tracker = new Tracker();
  }

  onEvent(raw: ProgressEvent): void {
    const event = printableEvent(raw);
    this.tracker.apply(event);
    let line: string | undefined;
    if (event.type === "run_started") {
      const eta = this.tracker.etaSeconds();
      const position = this.tracker.positionOf(event.configHash, event.cycle) ?? event.position;
      line = `→ ${byWorker(event)}${runLabel(position, this.tracker.total, event.cycle)}  ${event.summary}  started${eta === null ? "" : ` (ETA ${formatDuration(eta)})`}`;
    } else if (event.type === "run_finished") {
      line = finishedLine(event, this.tracker, this.style);
    } else {
      line = otherLine(event, this.style);
    }
    if (line !== undefined) this.stream.write(`${line}\n`);
  }

  notice(text: string): void {
    this.stream.write(`${printableMessage(text)}\n`);
  }

  close(): void {}
}

/** A TTY: a live bar with ETA at the bottom, finished runs printed above it. */
class TtyReporter implements Reporter {
  private readonly tracker: Tracker;
  private readonly timer: NodeJS.Timeout;
  private barShown = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly style: Style,
  ) {
    this.tracker = new Tracker();
    this.timer = setInterval(() => this.renderBar(), 1000);
    this.timer.unref();
  }

  onEvent(raw: ProgressEvent): void {
    const event = printableEvent(raw);
    this.tracker.apply(event);
    const line =
      event.type === "run_finished"
        ? finishedLine(event, this.tracker, this.style)
        : event.type === "run_started"
          ? undefined
          : otherLine(event, this.style);
    if (line !== undefined) this.print(line);
    if (event.type === "study_finished") this.clearBar();
    else this.renderBar();
  }

  notice(text: string): void {
    this.print(printableMessage(text));
    this.renderBar();
  }

  close(): void {
    clearInterval(this.timer);
    this.clearBar();
  }

  private print(line: string): void {
    this.clearBar();
    this.stream.write(`${line}\n`);
  }

  /** Lines the live area takes now (the bar, plus one per worker with several workers). */
  private barLines = 0;

  private clearBar(): void {
    if (this.barShown) {
      let erase = "\r\u001b[2K";
      for (let line = 1; line < this.barLines; line++) erase += "\u001b[1A\u001b[2K";
      this.stream.write(erase);
    }
    this.barShown = false;
    this.barLines = 0;
  }

  private renderBar(): void {
    const { total, done, current } = this.tracker;
    if (total === 0) return;
    const columns = this.stream.columns || 80;
    const fit = (text: string) =>
      text.length > columns - 1 ? `${text.slice(0, columns - 2)}…` : text;
    const barWidth = Math.max(10, Math.min(30, columns - 60));
    const filled = Math.round((done / total) * barWidth);
    const bar = `${"█".repeat(filled)}${"░".repeat(barWidth - filled)}`;
    const eta = this.tracker.etaSeconds();
    let text = `${bar} ${done}/${total} ${Math.floor((done / total) * 100)}%  ETA ${eta === null ? "…" : formatDuration(eta)}`;
    const workers = [...this.tracker.currents.entries()].filter(([worker]) => worker !== "");
    const lines: string[] = [];
    if (workers.length > 0) {
      // Several workers: one line each under the bar.
      text += `  ${workers.length} running`;
      for (const [worker, run] of workers.sort(([a], [b]) => a.localeCompare(b))) {
        lines.push(
          fit(
            `  ${workerLabel(worker)} ▸ ${runLabel(run.position, total, run.cycle)} ${run.summary}${run.stage ? ` (${run.stage})` : ""} ${formatDuration((Date.now() - run.startedAt) / 1000)}`,
          ),
        );
      }
    } else if (this.tracker.gapUntil && this.tracker.gapUntil > Date.now()) {
      text += `  gap ${formatDuration((this.tracker.gapUntil - Date.now()) / 1000)}`;
    } else if (current) {
      text += `  ▸ ${runLabel(current.position, total, current.cycle)} ${current.summary}${current.stage ? ` (${current.stage})` : ""} ${formatDuration((Date.now() - current.startedAt) / 1000)}`;
    }
    this.clearBar();
    const area = [fit(text), ...lines].map((line) => this.style.dim(line)).join("\n");
    this.stream.write(`\r\u001b[2K${area}`);
    this.barShown = true;
    this.barLines = 1 + lines.length;
  }
}
