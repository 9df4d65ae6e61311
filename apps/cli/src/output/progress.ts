import type { StudyEvent as ProgressEvent } from "@llem/study";
import { ESTIMATED_MARK, formatDuration, sig3 } from "./format.js";
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
    process.stdout.write(`${JSON.stringify(event)}\n`);
  }
  notice(text: string): void {
    process.stderr.write(`${text}\n`);
  }
  close(): void {}
}

/** Progress state shared by the plain and TTY renderers. */
class Tracker {
  total = 0;
  done = 0;
  /** When this session's first run started, and how many runs it finished since, and when. */
  private sessionStart: number | undefined;
  private finishedInSession = 0;
  private lastFinishAt = 0;
  current:
    | { summary: string; cycle: number; position: number; startedAt: number; stage?: string }
    | undefined;
  gapUntil: number | undefined;
  readonly positions = new Map<string, number>();

  apply(event: ProgressEvent): void {
    switch (event.type) {
      case "study_started":
        this.total = event.totalRuns;
        this.done = event.totalRuns - event.remainingRuns;
        break;
      case "run_started":
        this.sessionStart ??= Date.now();
        this.total = event.total;
        this.positions.set(`${event.configHash}:${event.cycle}`, event.position);
        this.current = {
          summary: event.summary,
          cycle: event.cycle,
          position: event.position,
          startedAt: Date.now(),
        };
        this.gapUntil = undefined;
        break;
      case "run_progress":
        if (this.current) this.current.stage = event.stage;
        break;
      case "run_finished":
        this.done++;
        this.finishedInSession++;
        this.lastFinishAt = Date.now();
        this.current = undefined;
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
    const currentElapsed = this.current ? (Date.now() - this.current.startedAt) / 1000 : 0;
    return Math.max(0, left * perRun - Math.min(currentElapsed, perRun));
  }
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
    return `${style.green("✓")} ${label}  ${event.summary}  ${energy}  ${speed}  ${formatDuration(event.durationS)}  completed`;
  }
  const why = event.error ? `${event.error.type}: ${event.error.message}` : "no error recorded";
  return `${style.red("✗")} ${label}  ${event.summary}  failed after ${formatDuration(event.durationS)}: ${why}`;
}

function otherLine(event: ProgressEvent, style: Style): string | undefined {
  switch (event.type) {
    case "study_started":
      return event.resumed
        ? `Resuming ${event.studyDir}: ${event.remainingRuns} of ${event.totalRuns} runs to go`
        : `Study dir ${event.studyDir}: ${event.totalRuns} runs`;
    case "gap":
      return event.seconds > 0
        ? style.dim(
            `  ${event.reason === "cycle" ? "cycle" : event.reason === "circuit_breaker" ? "circuit breaker" : "experiment"} gap: ${formatDuration(event.seconds)}`,
          )
        : undefined;
    case "circuit_stopped":
      return style.yellow(
        `Circuit breaker: ${event.consecutiveFailures} failures in a row again after the probe; stopping, the rest stay pending`,
      );
    case "circuit_open":
      return style.yellow(
        `Circuit breaker open after ${event.consecutiveFailures} failures in a row; cooling down ${formatDuration(event.cooldownSeconds)} before one probe run`,
      );
    case "deadline_reached":
      return style.yellow("Wall-clock deadline reached; the remaining runs stay pending");
    case "leftover_stopped":
      return style.yellow(`Left over from a run that did not end cleanly: ${event.detail}`);
    case "interrupted":
      return style.yellow(
        event.signalCount > 1
          ? "Killing the current experiment"
          : "Interrupted: stopping the current experiment cleanly",
      );
    case "study_finished":
      return undefined; // the command prints the outcome on stdout
    default:
      return undefined;
  }
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

  onEvent(event: ProgressEvent): void {
    this.tracker.apply(event);
    let line: string | undefined;
    if (event.type === "run_started") {
      const eta = this.tracker.etaSeconds();
      line = `→ ${runLabel(event.position, event.total, event.cycle)}  ${event.summary}  started${eta === null ? "" : ` (ETA ${formatDuration(eta)})`}`;
    } else if (event.type === "run_finished") {
      line = finishedLine(event, this.tracker, this.style);
    } else {
      line = otherLine(event, this.style);
    }
    if (line !== undefined) this.stream.write(`${line}\n`);
  }

  notice(text: string): void {
    this.stream.write(`${text}\n`);
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

  onEvent(event: ProgressEvent): void {
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
    this.print(text);
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

  private clearBar(): void {
    if (this.barShown) this.stream.write("\r\u001b[2K");
    this.barShown = false;
  }

  private renderBar(): void {
    const { total, done, current } = this.tracker;
    if (total === 0) return;
    const columns = this.stream.columns || 80;
    const barWidth = Math.max(10, Math.min(30, columns - 60));
    const filled = Math.round((done / total) * barWidth);
    const bar = `${"█".repeat(filled)}${"░".repeat(barWidth - filled)}`;
    const eta = this.tracker.etaSeconds();
    let text = `${bar} ${done}/${total} ${Math.floor((done / total) * 100)}%  ETA ${eta === null ? "…" : formatDuration(eta)}`;
    if (this.tracker.gapUntil && this.tracker.gapUntil > Date.now()) {
      text += `  gap ${formatDuration((this.tracker.gapUntil - Date.now()) / 1000)}`;
    } else if (current) {
      text += `  ▸ ${runLabel(current.position, total, current.cycle)} ${current.summary}${current.stage ? ` (${current.stage})` : ""} ${formatDuration((Date.now() - current.startedAt) / 1000)}`;
    }
    if (text.length > columns - 1) text = `${text.slice(0, columns - 2)}…`;
    this.stream.write(`\r\u001b[2K${this.style.dim(text)}`);
    this.barShown = true;
  }
}
