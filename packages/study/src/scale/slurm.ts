/**
 * `llem slurm`: a study run by a SLURM job array whose tasks are workers. It creates the study
 * dir on a shared path (or resumes one: failed runs go back to pending), writes an sbatch script
 * into it (`slurm/array-<time>.sbatch`, logs per task in `slurm/logs/<job>_<task>.log`) and, with
 * `submit`, hands it to sbatch. Every task runs `llem worker DIR`; tasks claim runs by lease, so
 * any number of them, started whenever the scheduler likes, complete each run once. Running it
 * again on the same study dir submits a new array for what is left.
 *
 * Script for `--array 3 --gpus-per-task 1 --partition gpu --time 02:00:00`:
 *
 *   #!/bin/bash
 *   #SBATCH --job-name=llem-sweep
 *   #SBATCH --array=0-2
 *   #SBATCH --ntasks=1
 *   #SBATCH --output=/shared/results/sweep_…/slurm/logs/%A_%a.log
 *   #SBATCH --gres=gpu:1
 *   #SBATCH --partition=gpu
 *   #SBATCH --time=02:00:00
 *   exec '/usr/bin/node' '/opt/llem/cli.js' 'worker' '/shared/results/sweep_…'
 */
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { delimiter, isAbsolute, join } from "node:path";
import type { ManifestStore } from "@llem/manifest";
import { LlemError } from "@llem/schema";
import { preflightStudy } from "../load.js";
import { openStudy } from "../runner/open-study.js";
import { countsOf } from "../runner/schedule.js";
import { dirTimestamp } from "../study-dir.js";
import type { LoadedStudy, RunCountsView, RunStudyOptions } from "../types.js";
import { prepareForWorkers } from "./multi-worker.js";

export const SLURM_DIR_NAME = "slurm";

export interface SlurmArrayOptions
  extends Pick<RunStudyOptions, "resultsDir" | "resumeDir" | "onDrift" | "lockStaleMs"> {
  /** Tasks in the array (workers), ≥ 1. */
  array: number;
  /** `--gres=gpu:K` per task (0 or absent: no GPU request). */
  gpusPerTask?: number;
  partition?: string;
  /** SLURM's --time, e.g. `02:00:00`. */
  time?: string;
  /** More `#SBATCH` lines, verbatim (`--account=proj`, `--mem=32G` …). */
  sbatchArgs?: readonly string[];
  /** Submit the script with sbatch (else only write it). */
  submit?: boolean;
  /** The argv that starts llem on the compute nodes (absolute paths on the shared file system). */
  llem: readonly string[];
  /** Pass --yes to the workers (a changed study.yaml was accepted). */
  acceptDrift?: boolean;
  /** The sbatch command (default `sbatch` on PATH). */
  sbatch?: string;
  env?: NodeJS.ProcessEnv;
}

export interface SlurmArrayOutcome {
  studyDir: string;
  resumed: boolean;
  script: string;
  logsDir: string;
  /** Runs left to do when the array was written. */
  counts: RunCountsView;
  /** The array's job id (`--submit`), else null. */
  jobId: string | null;
}

/** Writes (and with `submit`, submits) the job array for a new or resumed study. */
export async function prepareSlurmArray(
  loaded: LoadedStudy,
  options: SlurmArrayOptions,
): Promise<SlurmArrayOutcome> {
  checkArrayOptions(options);
  const env = options.env ?? process.env;
  const sbatch = options.submit ? findSbatch(options.sbatch ?? "sbatch", env) : undefined;
  preflightStudy(loaded);
  const { studyDir, store, resumed } = await openStudy(loaded, options, "shared");
  try {
    if (resumed && store.isComplete) {
      throw new LlemError(
        "NOTHING_TO_RUN",
        `${studyDir} is finished: all ${store.counts.completed} runs completed; no array submitted`,
        { details: { studyDir } },
      );
    }
    await prepareForWorkers(store, loaded, resumed);
    const logsDir = join(studyDir, SLURM_DIR_NAME, "logs");
    await mkdir(logsDir, { recursive: true });
    const stamp = dirTimestamp(new Date());
    const scriptRelative = `${SLURM_DIR_NAME}/array-${stamp}.sbatch`;
    const text = sbatchScript(loaded.study.study_name, studyDir, logsDir, options);
    const script = join(studyDir, await store.writeFileFenced(scriptRelative, text));
    const counts = countsOf(store);
    let jobId: string | null = null;
    if (sbatch !== undefined) {
      jobId = await submit(sbatch, script, env, studyDir);
      await recordSubmission(store, studyDir, { job_id: jobId, script: scriptRelative, options });
    }
    return { studyDir, resumed, script, logsDir, counts, jobId };
  } finally {
    await store.close();
  }
}

function checkArrayOptions(options: SlurmArrayOptions): void {
  if (!Number.isInteger(options.array) || options.array < 1) {
    throw new LlemError(
      "USAGE",
      `slurm: --array must be a whole number of tasks, at least 1 (got ${options.array})`,
      { details: { field: "--array" } },
    );
  }
  const gpus = options.gpusPerTask ?? 0;
  if (!Number.isInteger(gpus) || gpus < 0) {
    throw new LlemError("USAGE", `slurm: --gpus-per-task must be 0 or more (got ${gpus})`, {
      details: { field: "--gpus-per-task" },
    });
  }
  const lines = [options.partition, options.time, ...(options.sbatchArgs ?? [])];
  for (const value of lines) {
    if (value !== undefined && /[\r\n]/.test(value)) {
      throw new LlemError("USAGE", "slurm: sbatch options cannot contain line breaks", {
        details: { field: "--sbatch-arg" },
      });
    }
  }
  if (options.llem.length === 0 || !options.llem.every((part) => isAbsolute(part))) {
    throw new LlemError("INTERNAL", "prepareSlurmArray needs absolute paths to start llem");
  }
}

/** A word for a POSIX shell: single-quoted, with embedded quotes closed and escaped. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The sbatch script of the array (pure; see the file's head for an example). */
export function sbatchScript(
  studyName: string,
  studyDir: string,
  logsDir: string,
  options: Pick<
    SlurmArrayOptions,
    "array" | "gpusPerTask" | "partition" | "time" | "sbatchArgs" | "llem" | "acceptDrift"
  >,
): string {
  if (/[\r\n"]/.test(studyDir)) {
    throw new LlemError(
      "USAGE",
      `slurm: the study dir ${JSON.stringify(studyDir)} cannot be used in an sbatch script (line break or quote)`,
    );
  }
  const name = studyName.replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 60);
  // `%` starts a file-name pattern in --output: the study dir's own are doubled.
  const output = `${logsDir.replaceAll("%", "%%")}/%A_%a.log`;
  const lines = [
    "#!/bin/bash",
    `# Written by \`llem slurm\` for study ${name}: each array task joins the study dir as one`,
    "# worker (`llem worker`), claims runs by lease and leaves when nothing is left.",
    `#SBATCH --job-name=llem-${name}`,
    `#SBATCH --array=0-${options.array - 1}`,
    "#SBATCH --ntasks=1",
    `#SBATCH --output="${output}"`,
  ];
  if ((options.gpusPerTask ?? 0) > 0) lines.push(`#SBATCH --gres=gpu:${options.gpusPerTask}`);
  if (options.partition) lines.push(`#SBATCH --partition=${options.partition}`);
  if (options.time) lines.push(`#SBATCH --time=${options.time}`);
  for (const arg of options.sbatchArgs ?? []) lines.push(`#SBATCH ${arg}`);
  const command = [...options.llem, "worker", studyDir, ...(options.acceptDrift ? ["--yes"] : [])];
  lines.push("", `exec ${command.map(shellQuote).join(" ")}`, "");
  return lines.join("\n");
}

/** The sbatch executable, or SLURM_UNAVAILABLE before anything is written. */
function findSbatch(command: string, env: NodeJS.ProcessEnv): string {
  const candidates = command.includes("/")
    ? [command]
    : (env.PATH ?? "")
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new LlemError(
    "SLURM_UNAVAILABLE",
    `slurm --submit: ${command} was not found on PATH (SLURM's client tools are needed to submit). Nothing was written; without --submit llem writes the script for you to submit elsewhere.`,
    { details: { command } },
  );
}

/** `sbatch --parsable SCRIPT` → the job id (`1234`, or `1234;cluster`). */
function submit(
  sbatch: string,
  script: string,
  env: NodeJS.ProcessEnv,
  studyDir: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(sbatch, ["--parsable", script], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const failed = (why: string, cause?: unknown) =>
      new LlemError(
        "SLURM_SUBMIT_FAILED",
        `sbatch did not accept ${script}: ${why}. The study dir and its script are kept (${studyDir}); fix the cause and submit the script with sbatch, or run llem slurm --resume ${studyDir} --submit again.`,
        { details: { script, stderr: stderr.slice(0, 2000) }, ...(cause ? { cause } : {}) },
      );
    child.on("error", (error) => reject(failed(error.message, error)));
    child.on("close", (code) => {
      const jobId = stdout.trim().split(";")[0] ?? "";
      if (code === 0 && /^\d+$/.test(jobId)) return resolve(jobId);
      reject(failed(stderr.trim().split("\n").slice(-3).join(" ") || `exit code ${code}`));
    });
  });
}

/** Appends the submission to `slurm/submissions.json` (a list; newest last). */
async function recordSubmission(
  store: ManifestStore,
  studyDir: string,
  submission: { job_id: string; script: string; options: SlurmArrayOptions },
): Promise<void> {
  const relative = `${SLURM_DIR_NAME}/submissions.json`;
  let list: unknown[] = [];
  try {
    const parsed = JSON.parse(await readFile(join(studyDir, relative), "utf8"));
    if (Array.isArray(parsed)) list = parsed;
  } catch {
    // first submission
  }
  const { options } = submission;
  list.push({
    job_id: submission.job_id,
    script: submission.script,
    submitted_at: new Date().toISOString(),
    array: options.array,
    gpus_per_task: options.gpusPerTask ?? 0,
    partition: options.partition ?? null,
    time: options.time ?? null,
  });
  await store.writeFileFenced(relative, `${JSON.stringify(list, null, 2)}\n`);
}
