/**
 * `buildReport`: read the study dirs, render, write — to exactly two places, both chosen by the
 * caller: the HTML file (default `<first study dir>/report.html`) and, when asked, one SVG per
 * plot in `svgDir`. Every study dir is read before anything is written, so a bad dir fails the
 * call with nothing on disk; each file is written atomically (temp file beside it, fsync,
 * rename), so a crash leaves the previous report intact.
 */
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "@llem/manifest";
import { LlemError } from "@llem/schema";
import { reportAssets } from "./assets.js";
import { renderReportHtml } from "./html.js";
import { loadReportModel, type ReportOptions } from "./load.js";
import type { ReportModel } from "./model.js";
import { buildPlot, defaultViews, pointCounts } from "./plots.js";
import { plotToSvg } from "./svg.js";

export const REPORT_FILE_NAME = "report.html";

export interface BuildReportOptions extends ReportOptions {
  /** The HTML file (default `<first study dir>/report.html`). */
  output?: string;
  /** A directory to write each plot to as `<plot id>.svg` (created if missing). */
  svgDir?: string;
}

export interface BuiltReport {
  output: string;
  bytes: number;
  model: ReportModel;
  /** Every plot of the report, with the points it draws (and its SVG file when asked). */
  plots: Array<{
    id: string;
    title: string;
    markers: number;
    linePoints: number;
    svgFile?: string;
  }>;
}

async function write(path: string, data: string): Promise<void> {
  try {
    await writeFileAtomic(path, data);
  } catch (error) {
    throw new LlemError(
      "REPORT_WRITE_FAILED",
      `cannot write ${path}: ${(error as Error).message}`,
      {
        cause: error,
        details: { path },
      },
    );
  }
}

export async function buildReport(
  studyDirs: readonly string[],
  options: BuildReportOptions = {},
): Promise<BuiltReport> {
  const first = studyDirs[0];
  if (first === undefined) throw new LlemError("STUDY_NOT_FOUND", "no study dir given");
  const model = await loadReportModel(studyDirs, options);
  const html = renderReportHtml(model, await reportAssets());
  const plots: BuiltReport["plots"] = defaultViews(model).map((view) => {
    const plot = buildPlot(model, view);
    return { id: plot.id, title: plot.title, ...pointCounts(plot) };
  });

  const output = resolve(options.output ?? join(first, REPORT_FILE_NAME));
  if (options.svgDir !== undefined) {
    const svgDir = resolve(options.svgDir);
    try {
      await mkdir(svgDir, { recursive: true });
    } catch (error) {
      throw new LlemError(
        "REPORT_WRITE_FAILED",
        `cannot create ${svgDir}: ${(error as Error).message}`,
        { cause: error, details: { path: svgDir } },
      );
    }
    const views = defaultViews(model);
    for (const [index, view] of views.entries()) {
      const plot = buildPlot(model, view);
      // Plot ids are built from [a-z0-9-] only (plots.ts), so a file name never leaves svgDir.
      const file = join(svgDir, `${plot.id}.svg`);
      await write(file, plotToSvg(plot));
      const entry = plots[index];
      if (entry) entry.svgFile = file;
    }
  }
  await write(output, html);
  return { output, bytes: Buffer.byteLength(html), model, plots };
}
