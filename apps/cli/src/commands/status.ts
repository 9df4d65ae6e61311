import { expectSomePositionals, parseCommandArgs, UsageError } from "../args.js";
import { EXIT } from "../exit-codes.js";
import { jsonLine } from "../output/json.js";
import { renderStatus } from "../output/status-text.js";
import { watchStatus } from "./status-watch.js";

/** `llem status DIR… [--json] [--watch]`: progress from the manifest alone, lock-free, safe during a run. */
export async function statusCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("status", argv, {
    json: { type: "boolean" },
    watch: { type: "boolean", short: "w" },
  });
  const studyDirs = expectSomePositionals("status", positionals, "study-dir");
  if (values.watch) {
    if (studyDirs.length > 1 || values.json) {
      throw new UsageError(
        "status: --watch follows one study dir, without --json (llem status --help)",
      );
    }
    return watchStatus(studyDirs[0] as string);
  }
  // The status entry alone: @llem/study's index would also load the runner, YAML and engines.
  const { readStudyStatus } = await import("@llem/study/status");
  const rendered: string[] = [];
  for (const studyDir of studyDirs) {
    const status = await readStudyStatus(studyDir);
    if (values.json) {
      // One JSON object per line and study dir; the per-run entries stay in the manifest.
      const { entries: _entries, ...withoutEntries } = status;
      rendered.push(jsonLine(withoutEntries));
    } else {
      rendered.push(renderStatus(status));
    }
  }
  process.stdout.write(rendered.join(values.json ? "" : "\n"));
  return EXIT.ok;
}
