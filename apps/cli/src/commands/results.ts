import { printable } from "@llem/schema/errors";
import type { SkippedResult } from "@llem/study";
import { expectSomePositionals, parseCommandArgs, UsageError } from "../args.js";
import { EXIT } from "../exit-codes.js";
import {
  aggregatesAsJson,
  renderAggregateCsv,
  renderAggregateTable,
} from "../output/aggregates.js";

const FORMATS = ["table", "csv", "json"] as const;
type Format = (typeof FORMATS)[number];

/**
 * `llem results DIR… [--format table|csv|json]`: per-config metrics across cycles. Several dirs
 * (a shell glob) are shown one after the other; CSV and JSON name each row's study dir.
 */
export async function resultsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("results", argv, {
    format: { type: "string", default: "table" },
    json: { type: "boolean" },
  });
  const studyDirs = expectSomePositionals("results", positionals, "study-dir");
  const format = (values.json ? "json" : values.format) as string;
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`results: --format must be one of ${FORMATS.join(", ")}, got "${format}"`);
  }
  const { readStudyResultSet } = await import("@llem/study");
  const studies = [];
  for (const studyDir of studyDirs) {
    // A manifest is data: a result_file it names outside the study dir, or that is not a
    // regular file, is not read; the run is left out and said so here.
    const onSkipped = (skipped: SkippedResult) =>
      process.stderr.write(
        `llem: warning: ${printable(studyDir)}: run ${skipped.config_hash.slice(0, 8)} cycle ${skipped.cycle} left out: result_file ${printable(JSON.stringify(skipped.result_file).slice(0, 200))} ${skipped.reason}\n`,
      );
    const { aggregates, configs } = await readStudyResultSet(studyDir, { onSkipped });
    studies.push({ studyDir, configs: aggregates, experimentConfigs: configs });
  }
  switch (format as Format) {
    case "json":
      process.stdout.write(
        `${JSON.stringify(
          studies.flatMap(({ studyDir, configs }) => aggregatesAsJson(configs, studyDir)),
          null,
          2,
        )}\n`,
      );
      break;
    case "csv":
      process.stdout.write(renderAggregateCsv(studies));
      break;
    default:
      process.stdout.write(
        studies
          .map(({ studyDir, configs }) => {
            const heading = studies.length > 1 ? `${printable(studyDir)}\n` : "";
            return configs.length === 0
              ? `${printable(studyDir)}: no completed runs yet\n`
              : `${heading}${renderAggregateTable(configs)}\n`;
          })
          .join("\n"),
      );
  }
  return EXIT.ok;
}
