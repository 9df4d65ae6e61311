import { printable } from "@llem/schema/errors";
import type { DriftChange, DriftInfo, StudyEvent } from "@llem/study";
import { expectPositionals, parseCommandArgs } from "../args.js";
import { EXIT } from "../exit-codes.js";
import { jsonLine } from "../output/json.js";
import { createReporter } from "../output/progress.js";
import { handleInterrupts } from "../signals.js";
import { confirmDrift } from "./drift-prompt.js";

/**
 * `llem worker DIR [--yes] [--cpus LIST] [--gpus LIST] [--exit-when-idle] [--json]`: joins a
 * study as one more worker and leaves when nothing is left to claim.
 */
export async function workerCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("worker", argv, {
    yes: { type: "boolean", short: "y" },
    cpus: { type: "string" },
    gpus: { type: "string" },
    "exit-when-idle": { type: "boolean" },
    json: { type: "boolean" },
  });
  const [studyDir] = expectPositionals("worker", positionals, ["study-dir"]) as [string];
  const study = await import("@llem/study");
  const placement: { cpus?: string; gpus?: string[] } = {};
  if (values.cpus !== undefined) {
    placement.cpus = study.formatCpuList(study.parseCpuList(values.cpus));
  }
  if (values.gpus !== undefined) {
    placement.gpus = values.gpus
      .split(",")
      .map((device) => device.trim())
      .filter(Boolean);
  }
  const json = values.json === true;
  const reporter = createReporter({ json });
  const interrupts = handleInterrupts((text) => reporter.notice(text));
  let outcome: Awaited<ReturnType<typeof study.runWorker>>;
  try {
    outcome = await study.runWorker({
      studyDir,
      signal: interrupts.signal,
      forceKill: interrupts.forceKill,
      onEvent: (event: StudyEvent) => reporter.onEvent(event),
      onDrift: (info: DriftInfo, change: DriftChange) =>
        confirmDrift(info, change, `${studyDir}'s study file`, values.yes === true),
      placement,
      ...(values["exit-when-idle"] ? { exitWhenIdle: true } : {}),
    });
  } finally {
    interrupts.dispose();
    reporter.close();
  }
  const exitCode =
    outcome.reason === "interrupted"
      ? EXIT.interrupted
      : outcome.reason === "done" || outcome.reason === "deadline"
        ? EXIT.ok
        : EXIT.failure;
  if (json) {
    const { counts } = outcome;
    process.stdout.write(
      jsonLine({
        type: "worker_outcome",
        at: new Date().toISOString(),
        study_dir: outcome.studyDir,
        worker: outcome.worker,
        reason: outcome.reason,
        message: outcome.message,
        runs: outcome.runs,
        already_finished: outcome.alreadyFinished,
        summary_file: outcome.summaryFile,
        counts,
        exit_code: exitCode,
      }),
    );
  } else {
    const lines = [
      `Worker ${printable(outcome.worker)}: ${printable(outcome.message)}`,
      ...(outcome.runs > 0 ? [`  ran ${outcome.runs} run${outcome.runs === 1 ? "" : "s"}`] : []),
      ...(outcome.summaryFile
        ? [`  study finished; summary: ${printable(outcome.summaryFile)}`]
        : []),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  }
  return exitCode;
}
