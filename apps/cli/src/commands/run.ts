import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { printableMessage } from "@llem/schema/errors";
import type { DriftChange, DriftInfo, LoadedStudy, StudyEvent, StudyOutcome } from "@llem/study";
import { parseCommandArgs, UsageError } from "../args.js";
import { EXIT, exitCodeForStudyStatus } from "../exit-codes.js";
import { renderAggregateTable } from "../output/aggregates.js";
import { formatDuration, plural } from "../output/format.js";
import { jsonLine } from "../output/json.js";
import { createReporter } from "../output/progress.js";
import { llemHint } from "../output/self-command.js";
import { handleInterrupts } from "../signals.js";
import { confirmDrift } from "./drift-prompt.js";

const RUN_OPTIONS = {
  resume: { type: "boolean" },
  "dry-run": { type: "boolean" },
  "results-dir": { type: "string" },
  yes: { type: "boolean", short: "y" },
  json: { type: "boolean" },
  workers: { type: "string" },
  "gpus-per-worker": { type: "string" },
} as const;

/** A whole number ≥ `min` from an option's text, else a usage error naming the option. */
export function countOption(
  name: string,
  value: string | undefined,
  min: number,
): number | undefined {
  if (value === undefined) return undefined;
  const count = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(count) || count < min) {
    throw new UsageError(`--${name} must be a whole number of at least ${min}, got "${value}"`);
  }
  return count;
}

/**
 * `llem run FILE [--resume [DIR]] [--dry-run] [--results-dir DIR] [--yes] [--json]
 * [--workers N [--gpus-per-worker K]]`.
 */
export async function runCommand(argv: string[]): Promise<number> {
  // `--resume` takes an optional value, which parseArgs cannot express: `--resume=DIR` becomes
  // `--resume DIR`, and DIR is then the second positional.
  const expanded = argv.flatMap((arg) =>
    arg.startsWith("--resume=") ? ["--resume", arg.slice("--resume=".length)] : [arg],
  );
  const { values, positionals } = parseCommandArgs("run", expanded, RUN_OPTIONS);
  const json = values.json === true;
  if (positionals.length === 0) throw new UsageError("run: missing <study.yaml> (llem run --help)");
  if (positionals.length > (values.resume ? 2 : 1)) {
    throw new UsageError(`run: unexpected argument "${positionals.at(-1)}" (llem run --help)`);
  }
  if (values.resume && values["dry-run"]) {
    throw new UsageError("run: --dry-run and --resume cannot be combined");
  }
  const workers = countOption("workers", values.workers, 1);
  const gpusPerWorker = countOption("gpus-per-worker", values["gpus-per-worker"], 0);
  if (gpusPerWorker !== undefined && workers === undefined) {
    throw new UsageError("run: --gpus-per-worker needs --workers N");
  }
  const study = await import("@llem/study");
  const { MANIFEST_FILE_NAME } = await import("@llem/manifest");
  const target = resolveTarget(positionals, values.resume === true, {
    manifest: MANIFEST_FILE_NAME,
    studyYaml: study.STUDY_YAML_FILE_NAME,
  });
  const loaded = await study.loadStudy(target.file);
  const resultsDir = values["results-dir"] ?? loaded.study.output.results_dir;

  if (values["dry-run"]) {
    // What `run` would refuse before it starts, the plan refuses too.
    study.preflightStudy(loaded);
    return printPlan(loaded, resultsDir, json);
  }

  let resumeDir = target.resumeDir;
  if (values.resume && resumeDir === undefined) {
    resumeDir = await study.findResumableStudy(target.file, resultsDir);
    if (resumeDir === undefined) {
      throw new UsageError(
        `run --resume: no unfinished study of ${target.file} under ${resultsDir}/; start one with \`llem run ${target.file}\`, or name a study dir: --resume DIR`,
      );
    }
  }

  // The ETA comes from this machine's completed runs only: a planning estimate made before any
  // run can be off by an order of magnitude, and a wrong ETA is worse than "…".
  const reporter = createReporter({ json });
  for (const warning of loaded.warnings) reporter.notice(`warning: ${warning}`);
  if (loaded.skipped.length > 0) {
    reporter.notice(
      `${plural(loaded.skipped.length, "invalid combination")} skipped (reasons: llem run --dry-run, or skipped_configs.json in the study dir)`,
    );
  }
  const interrupts = handleInterrupts((text) => reporter.notice(text));
  let outcome: StudyOutcome;
  try {
    const options = {
      resultsDir,
      signal: interrupts.signal,
      forceKill: interrupts.forceKill,
      onEvent: (event: StudyEvent) => reporter.onEvent(event),
      ...(resumeDir === undefined ? {} : { resumeDir }),
      onDrift: (info: DriftInfo, change: DriftChange) =>
        confirmDrift(info, change, target.file, values.yes === true),
    };
    outcome =
      workers === undefined
        ? await study.runStudy(loaded, options)
        : await study.runWorkers(loaded, {
            ...options,
            workers,
            ...(gpusPerWorker === undefined ? {} : { gpusPerWorker }),
          });
  } finally {
    interrupts.dispose();
    reporter.close();
  }
  const exitCode =
    interrupts.count > 0 && outcome.status !== "completed"
      ? EXIT.interrupted
      : exitCodeForStudyStatus(outcome.status);
  if (json) {
    process.stdout.write(
      jsonLine({
        type: "summary",
        at: new Date().toISOString(),
        studyDir: outcome.studyDir,
        status: outcome.status,
        exitCode,
        summary: outcome.summary,
      }),
    );
  } else {
    printOutcome(outcome, target.file, exitCode);
  }
  return exitCode;
}

interface Target {
  file: string;
  resumeDir?: string;
}

/**
 * `run FILE`, `run FILE --resume DIR`, or `run --resume DIR` (the study's own YAML: the file it was
 * started from if it still exists — so base: paths resolve as before — else the copy in DIR).
 */
function resolveTarget(
  positionals: string[],
  resume: boolean,
  files: { manifest: string; studyYaml: string },
): Target {
  const [first, second] = positionals as [string, string | undefined];
  if (resume && second !== undefined) return { file: first, resumeDir: second };
  if (resume && isDirectory(first)) {
    const manifestPath = join(first, files.manifest);
    if (!existsSync(manifestPath)) {
      throw new UsageError(`run --resume: ${first} is not a study dir (no ${files.manifest})`);
    }
    return { file: studyYamlOf(manifestPath, join(first, files.studyYaml)), resumeDir: first };
  }
  if (isDirectory(first)) {
    throw new UsageError(
      `run: ${first} is a directory; give a study YAML, or resume it with \`llem run --resume ${first}\``,
    );
  }
  return { file: first };
}

function studyYamlOf(manifestPath: string, copyInStudyDir: string): string {
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as {
      study_yaml_path?: unknown;
    };
    if (typeof manifest.study_yaml_path === "string" && existsSync(manifest.study_yaml_path)) {
      return manifest.study_yaml_path;
    }
  } catch {
    // an unreadable manifest is reported by runStudy with its own error; use the copy here
  }
  return copyInStudyDir;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function printOutcome(outcome: StudyOutcome, file: string, exitCode: number): void {
  const summary = outcome.summary;
  const out: string[] = [""];
  if (summary.configs.length > 0) out.push(renderAggregateTable(summary.configs), "");
  for (const failure of summary.failures.slice(0, 10)) {
    out.push(
      `failed: ${failure.config_summary} (cycle ${failure.cycle}): ${failure.error_type ?? "error"}: ${failure.error_message ?? "no message"}`,
    );
  }
  if (summary.failures.length > 10) out.push(`… and ${summary.failures.length - 10} more failures`);
  const counts = summary.counts;
  out.push(
    `Study ${outcome.status}: ${counts.completed}/${counts.total_runs} runs completed` +
      (counts.failed > 0 ? `, ${counts.failed} failed` : "") +
      (counts.pending > 0 ? `, ${counts.pending} pending` : "") +
      ` in ${formatDuration(summary.total_wall_time_s)}`,
  );
  out.push(`Results: ${outcome.studyDir}`);
  if (exitCode === EXIT.interrupted || counts.pending > 0 || counts.failed > 0) {
    out.push(`Resume:  ${llemHint(`run ${file} --resume ${outcome.studyDir}`, "         ")}`);
  }
  process.stdout.write(`${printableMessage(out.join("\n"))}\n`);
}

const PLAN_LIST_LIMIT = 200;

/** --dry-run: everything `run` would do, nothing done. */
function printPlan(loaded: LoadedStudy, resultsDir: string, json: boolean): number {
  const execution = loaded.study.study_execution;
  if (json) {
    process.stdout.write(
      jsonLine({
        type: "plan",
        file: loaded.file,
        study_name: loaded.study.study_name,
        study_design_hash: loaded.designHash,
        results_dir: resolve(resultsDir),
        unique_configs: loaded.configs.length,
        n_cycles: execution.n_cycles,
        experiment_order: execution.experiment_order,
        total_runs: loaded.runs.length,
        estimate: loaded.estimate,
        warnings: loaded.warnings,
        skipped: loaded.skipped.map((skip) => ({
          config_summary: skip.summary,
          reason: skip.reason,
        })),
        runs: loaded.runs.map((run, index) => ({
          position: index + 1,
          cycle: run.cycle,
          config_hash: run.configHash,
          config_summary: run.summary,
        })),
      }),
    );
    return EXIT.ok;
  }
  const out: string[] = [];
  out.push(`Study "${loaded.study.study_name}" (${loaded.file})`);
  out.push(`  design hash   ${loaded.designHash}`);
  out.push(`  results dir   ${resolve(resultsDir)}`);
  out.push(
    `  runs          ${plural(loaded.configs.length, "unique config")} × ${plural(execution.n_cycles, "cycle")} = ${plural(loaded.runs.length, "run")}, order ${execution.experiment_order}`,
  );
  out.push(
    `  estimate      about ${formatDuration(loaded.estimate.typicalSeconds)} (at least ${formatDuration(loaded.estimate.minSeconds)}; ${loaded.estimate.basis})`,
  );
  if (loaded.skipped.length > 0) {
    out.push("", `Skipped (${plural(loaded.skipped.length, "invalid combination")}):`);
    for (const skip of loaded.skipped.slice(0, PLAN_LIST_LIMIT))
      out.push(`  - ${skip.summary}: ${skip.reason}`);
    if (loaded.skipped.length > PLAN_LIST_LIMIT)
      out.push(`  … and ${loaded.skipped.length - PLAN_LIST_LIMIT} more (--json lists all)`);
  }
  for (const warning of loaded.warnings) out.push(`warning: ${warning}`);
  out.push("", "Run order:");
  const width = String(loaded.runs.length).length;
  loaded.runs.slice(0, PLAN_LIST_LIMIT).forEach((run, index) => {
    out.push(
      `  ${String(index + 1).padStart(width)}  c${run.cycle}  ${run.summary}  ${run.configHash.slice(0, 8)}`,
    );
  });
  if (loaded.runs.length > PLAN_LIST_LIMIT) {
    out.push(`  … and ${loaded.runs.length - PLAN_LIST_LIMIT} more (--json lists all)`);
  }
  out.push("", "Dry run: nothing was run.");
  process.stdout.write(`${printableMessage(out.join("\n"))}\n`);
  return EXIT.ok;
}
