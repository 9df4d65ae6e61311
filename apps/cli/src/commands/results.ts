import { expectPositionals, parseCommandArgs, UsageError } from "../args.js";
import { EXIT } from "../exit-codes.js";
import {
  aggregatesAsJson,
  renderAggregateCsv,
  renderAggregateTable,
} from "../output/aggregates.js";

const FORMATS = ["table", "csv", "json"] as const;
type Format = (typeof FORMATS)[number];

/** `llem results DIR [--format table|csv|json]`: per-config metrics across cycles. */
export async function resultsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("results", argv, {
    format: { type: "string", default: "table" },
    json: { type: "boolean" },
  });
  const [studyDir] = expectPositionals("results", positionals, ["study-dir"]) as [string];
  const format = (values.json ? "json" : values.format) as string;
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`results: --format must be one of ${FORMATS.join(", ")}, got "${format}"`);
  }
  const { readStudyResults } = await import("@llem/study");
  const configs = await readStudyResults(studyDir);
  switch (format as Format) {
    case "json":
      process.stdout.write(`${JSON.stringify(aggregatesAsJson(configs), null, 2)}\n`);
      break;
    case "csv":
      process.stdout.write(renderAggregateCsv(configs));
      break;
    default:
      process.stdout.write(
        configs.length === 0
          ? `${studyDir}: no completed runs yet\n`
          : `${renderAggregateTable(configs)}\n`,
      );
  }
  return EXIT.ok;
}
