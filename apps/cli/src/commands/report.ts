import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import { expectSomePositionals, parseCommandArgs, UsageError } from "../args.js";
import { EXIT } from "../exit-codes.js";

/**
 * `llem report DIR… [-o FILE] [--svg-dir DIR] [--cv-threshold X] [--json]`: one offline HTML
 * report of the study dirs (default `<first dir>/report.html`), and each plot as an SVG when
 * asked. The work is @llem/study/report's; this parses, checks the paths and prints where it went.
 */
export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("report", argv, {
    output: { type: "string", short: "o" },
    "svg-dir": { type: "string" },
    "cv-threshold": { type: "string" },
    json: { type: "boolean" },
  });
  const studyDirs = expectSomePositionals("report", positionals, "study-dir");
  let cvThreshold: number | undefined;
  if (values["cv-threshold"] !== undefined) {
    cvThreshold = Number(values["cv-threshold"]);
    if (!Number.isFinite(cvThreshold) || cvThreshold <= 0 || cvThreshold >= 10) {
      throw new UsageError(
        `report: --cv-threshold must be a fraction such as 0.05 (5%), got "${values["cv-threshold"]}"`,
      );
    }
  }
  const output = values.output;
  if (output !== undefined && isDirectory(output)) {
    throw new UsageError(
      `report: -o ${output} is a directory; give a file name, e.g. -o ${join(output, "report.html")}`,
    );
  }
  const svgDir = values["svg-dir"];
  if (svgDir !== undefined && exists(svgDir) && !isDirectory(svgDir)) {
    throw new UsageError(`report: --svg-dir ${svgDir} is a file, not a directory`);
  }
  // The report entry alone: @llem/study's index would also load the runner, YAML and engines.
  const { buildReport } = await import("@llem/study/report");
  const built = await buildReport(studyDirs, {
    ...(output === undefined ? {} : { output }),
    ...(svgDir === undefined ? {} : { svgDir }),
    ...(cvThreshold === undefined ? {} : { cvThreshold }),
  });
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ output: built.output, bytes: built.bytes, plots: built.plots })}\n`,
    );
    return EXIT.ok;
  }
  const configs = built.model.studies.reduce((sum, study) => sum + study.configs.length, 0);
  const studies = built.model.studies.length;
  process.stdout.write(
    `Report: ${built.output} (${Math.ceil(built.bytes / 1024)} KB; ${studies} ${studies === 1 ? "study" : "studies"}, ${configs} configs, ${built.plots.length} plots)\n`,
  );
  if (svgDir !== undefined) {
    const written = built.plots.filter((plot) => plot.svgFile).length;
    process.stdout.write(`SVG: ${written} files in ${resolve(svgDir)}\n`);
  }
  return EXIT.ok;
}

function exists(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false }) !== undefined;
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
}
