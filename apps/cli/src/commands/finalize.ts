import { printable } from "@llem/schema/errors";
import { expectPositionals, parseCommandArgs } from "../args.js";
import { EXIT } from "../exit-codes.js";
import { jsonLine } from "../output/json.js";

/** `llem finalize DIR [--json]`: writes study_summary.json of a multi-worker study now. */
export async function finalizeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("finalize", argv, {
    json: { type: "boolean" },
  });
  const [studyDir] = expectPositionals("finalize", positionals, ["study-dir"]) as [string];
  const { finalizeStudy } = await import("@llem/study");
  const outcome = await finalizeStudy(studyDir);
  const { counts } = outcome;
  if (values.json) {
    process.stdout.write(
      jsonLine({
        type: "finalized",
        study_dir: outcome.studyDir,
        summary_file: outcome.summaryFile,
        status: outcome.summary.status,
        counts,
      }),
    );
  } else {
    const lines = [
      `Summary written: ${printable(outcome.summaryFile)}`,
      `  status ${outcome.summary.status}: ${counts.completed}/${counts.total} runs completed, ${counts.failed} failed, ${counts.pending} pending, ${counts.running} running`,
    ];
    if (counts.running > 0) {
      lines.push(
        "  runs are still in flight: the worker that finishes the study rewrites the summary",
      );
    }
    process.stdout.write(`${lines.join("\n")}\n`);
  }
  return EXIT.ok;
}
