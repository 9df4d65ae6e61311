import { fileURLToPath } from "node:url";
import { printable } from "@llem/schema/errors";
import type { DriftChange, DriftInfo } from "@llem/study";
import { parseCommandArgs, UsageError } from "../args.js";
import { EXIT } from "../exit-codes.js";
import { jsonLine } from "../output/json.js";
import { confirmDrift } from "./drift-prompt.js";
import { countOption } from "./run.js";

/**
 * `llem slurm STUDY.yaml --array N [--gpus-per-task K] [--partition P] [--time T]
 * [--sbatch-arg ARG]… [--results-dir DIR] [--resume [DIR]] [--yes] [--submit] [--json]`.
 */
export async function slurmCommand(argv: string[]): Promise<number> {
  const expanded = argv.flatMap((arg) =>
    arg.startsWith("--resume=") ? ["--resume", arg.slice("--resume=".length)] : [arg],
  );
  const { values, positionals } = parseCommandArgs("slurm", expanded, {
    array: { type: "string" },
    "gpus-per-task": { type: "string" },
    partition: { type: "string" },
    time: { type: "string" },
    "sbatch-arg": { type: "string", multiple: true },
    "results-dir": { type: "string" },
    resume: { type: "boolean" },
    yes: { type: "boolean", short: "y" },
    submit: { type: "boolean" },
    json: { type: "boolean" },
  });
  if (positionals.length === 0) {
    throw new UsageError("slurm: missing <study.yaml> (llem slurm --help)");
  }
  if (positionals.length > (values.resume ? 2 : 1)) {
    throw new UsageError(`slurm: unexpected argument "${positionals.at(-1)}" (llem slurm --help)`);
  }
  if (values.array === undefined) {
    throw new UsageError("slurm: --array N is required: how many worker tasks the array has");
  }
  const array = countOption("array", values.array, 1) as number;
  const gpusPerTask = countOption("gpus-per-task", values["gpus-per-task"], 0);
  const [file, named] = positionals as [string, string | undefined];
  const study = await import("@llem/study");
  const loaded = await study.loadStudy(file);
  const resultsDir = values["results-dir"] ?? loaded.study.output.results_dir;
  let resumeDir = named;
  if (values.resume && resumeDir === undefined) {
    resumeDir = await study.findResumableStudy(file, resultsDir);
    if (resumeDir === undefined) {
      throw new UsageError(
        `slurm --resume: no unfinished study of ${file} under ${resultsDir}/; start one without --resume, or name a study dir: --resume DIR`,
      );
    }
  }
  const yes = values.yes === true;
  const outcome = await study.prepareSlurmArray(loaded, {
    array,
    resultsDir,
    ...(resumeDir === undefined ? {} : { resumeDir }),
    ...(gpusPerTask === undefined ? {} : { gpusPerTask }),
    ...(values.partition === undefined ? {} : { partition: values.partition }),
    ...(values.time === undefined ? {} : { time: values.time }),
    sbatchArgs: values["sbatch-arg"] ?? [],
    submit: values.submit === true,
    acceptDrift: yes,
    onDrift: (info: DriftInfo, change: DriftChange) => confirmDrift(info, change, file, yes),
    // The compute nodes start llem as this node does: this Node and this CLI, by absolute path
    // (the study dir and llem live on the shared file system).
    llem: [process.execPath, fileURLToPath(new URL("./cli.js", import.meta.url))],
  });
  const { counts } = outcome;
  const left = counts.total - counts.completed;
  if (values.json) {
    process.stdout.write(
      jsonLine({
        type: "slurm_array",
        study_dir: outcome.studyDir,
        resumed: outcome.resumed,
        script: outcome.script,
        logs_dir: outcome.logsDir,
        job_id: outcome.jobId,
        array,
        runs_left: left,
        counts,
      }),
    );
    return EXIT.ok;
  }
  const lines = [
    `${outcome.resumed ? "Resuming" : "Study dir"} ${printable(outcome.studyDir)}: ${left} of ${counts.total} runs to do`,
    `  script  ${printable(outcome.script)}`,
    `  logs    ${printable(outcome.logsDir)}/<job>_<task>.log`,
  ];
  if (array > left) {
    lines.push(
      `  note    ${array} tasks for ${left} runs: ${array - left} will find nothing to do`,
    );
  }
  if (outcome.jobId !== null) {
    lines.push(
      `Submitted job array ${outcome.jobId} (${array} tasks).`,
      `  follow  llem status ${printable(outcome.studyDir)} --watch`,
      `  cancel  scancel ${outcome.jobId}`,
    );
  } else {
    lines.push(`Not submitted (no --submit): sbatch ${printable(outcome.script)}`);
  }
  lines.push(
    `  resume  llem slurm ${printable(file)} --resume ${printable(outcome.studyDir)} --array N --submit`,
  );
  process.stdout.write(`${lines.join("\n")}\n`);
  return EXIT.ok;
}
