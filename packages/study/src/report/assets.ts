/**
 * The code a report inlines, read from disk when a report is built (never fetched by the page):
 *
 * - uPlot's minified browser build and stylesheet, from the `uplot` package in node_modules;
 * - the report's own page script, dist/report-client.js, built by this package's tsup config
 *   (found next to dist/report.js, or from src/report/ in this repository's tests).
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { LlemError } from "@llem/schema";

export interface ReportAssets {
  uplotJs: string;
  uplotCss: string;
  clientJs: string;
  /** e.g. "1.6.32", shown in the report's footer with uPlot's licence. */
  uplotVersion: string;
}

function clientScriptPath(): string {
  const candidates = [
    new URL("./report-client.js", import.meta.url),
    new URL("../../dist/report-client.js", import.meta.url),
  ].map((url) => fileURLToPath(url));
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new LlemError(
      "INTERNAL",
      `the report page script is missing (looked for ${candidates.join(", ")}): build @llem/study (pnpm --filter @llem/study build)`,
    );
  }
  return found;
}

let cached: Promise<ReportAssets> | undefined;

/** The assets, read once per process. */
export function reportAssets(): Promise<ReportAssets> {
  cached ??= (async () => {
    const require = createRequire(import.meta.url);
    const manifest = require("uplot/package.json") as { version: string };
    const [uplotJs, uplotCss, clientJs] = await Promise.all([
      readFile(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8"),
      readFile(require.resolve("uplot/dist/uPlot.min.css"), "utf8"),
      readFile(clientScriptPath(), "utf8"),
    ]);
    return { uplotJs, uplotCss, clientJs, uplotVersion: manifest.version };
  })().catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}
