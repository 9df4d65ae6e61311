// Records a benchmark's latest run in bench/RESULTS.md, in that benchmark's own section, instead
// of appending it at the end. One helper for every bench/*.mjs that records.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** The file written: `file`, else `$RESULTS_FILE` (tests and trial runs), else bench/RESULTS.md. */
export function resultsPath(file) {
  return resolve(file ?? process.env.RESULTS_FILE ?? join(here, "..", "RESULTS.md"));
}

/**
 * Places one run in RESULTS.md's text (pure: text in, text out). The file is one
 * `## <Title> — \`bench/<bench>\`` section per benchmark, each holding `### ` subsections; the
 * new subsection is `### <heading>`, a blank line, then `body`. The body is the section as the
 * script wrote it before: its own headings (`### Engine overhead`, `#### Native build`) are
 * nested one level deeper here, under the new `###`; it may hold no `#`/`##` headings.
 *
 * - replace: the section's first `### ` line matching `replaces` starts the subsection replaced
 *            (up to the next `###`/`##`); every other byte of the file is kept.
 *              ## Engine … `bench/engine.mjs`      ## Engine … `bench/engine.mjs`
 *              intro                               intro
 *              ### 2026-12-01 engine …      →      ### 2027-01-05 engine …   (the new run)
 *              ### synthetic:large — latest …      ### synthetic:large — latest …  (kept)
 * - insert:  no subsection matches: the new one goes first in the section, after any intro
 *            paragraph before its first `###` (at its end when it has no `###`).
 * - create:  no section for `bench`: `## <title> — \`bench/<bench>\`` is added at the end, and
 *            an absent file starts as `# Benchmark results`.
 *
 * The `## Summary` table is never edited (its rows are hand-kept readings). `heading` should
 * itself match `replaces`, or the next run would not replace this one: a warning says so.
 */
export function placeLatest(text, { bench, title, heading, body, replaces }) {
  const block = [`### ${heading}`, "", ...nestedBody(body), ""];
  const lines = text.replace(/\n*$/, "").split("\n");
  const start = lines.findIndex((line) => isSectionOf(line, bench));
  if (start < 0) {
    const created = [...lines, "", `## ${title} — \`bench/${bench}\``, "", ...block];
    return { text: finish(created), outcome: "created" };
  }
  let end = lines.findIndex((line, index) => index > start && line.startsWith("## "));
  if (end < 0) end = lines.length;
  const subsections = [];
  for (let index = start + 1; index < end; index++) {
    if (lines[index].startsWith("### ")) subsections.push(index);
  }
  const match = subsections.findIndex((index) => replaces.test(lines[index]));
  if (match >= 0) {
    const from = subsections[match];
    const to = subsections[match + 1] ?? end;
    const replaced = lines[from];
    lines.splice(from, to - from, ...block);
    return { text: finish(lines), outcome: "replaced", replaced };
  }
  const at = subsections[0] ?? end;
  // The last line before the new subsection must be blank: a section without subsections ends
  // at the next `##` or the file's end, where the blank line may already have been consumed.
  lines.splice(at, 0, ...(lines[at - 1] === "" ? [] : [""]), ...block);
  return { text: finish(lines), outcome: "inserted" };
}

/**
 * Records one run: reads the file (`file` / `$RESULTS_FILE` / bench/RESULTS.md), places the run
 * ({@link placeLatest}), writes the result atomically (temp file beside it, fsync, rename, fsync
 * of the directory: an interrupted bench leaves the previous version whole), prints where it
 * went and a reminder to update the summary row. Returns placeLatest's outcome and the path.
 */
export async function recordLatest({ file, ...run }) {
  const path = resultsPath(file);
  const text = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmark results\n";
  if (!run.replaces.test(`### ${run.heading}`)) {
    console.warn(
      `results-file: "### ${run.heading}" does not match ${run.replaces}: the next run of bench/${run.bench} will not replace it`,
    );
  }
  const placed = placeLatest(text, run);
  // @llem/manifest's atomic write, loaded here and not at the top: the benches' own measuring
  // child processes import this file too and should not pay for loading the package.
  const { writeFileAtomic } = await import("../../packages/manifest/dist/index.js");
  await writeFileAtomic(path, placed.text);
  const what =
    placed.outcome === "replaced"
      ? `replacing "${placed.replaced}"`
      : placed.outcome === "inserted"
        ? "as a new entry (none of this kind was there)"
        : "in a new section at the end";
  console.log(`recorded in ${path}, section of bench/${run.bench}, ${what}`);
  console.log(`update bench/${run.bench}'s row of the ## Summary table in ${path} by hand`);
  return { path, ...placed };
}

/** `## … — \`bench/<bench>\``: the exact name, so expand.mjs is not expand-orchestration.mjs. */
function isSectionOf(line, bench) {
  return line.startsWith("## ") && line.trimEnd().endsWith(`— \`bench/${bench}\``);
}

/** The body's lines, blank lines around it trimmed, its headings one level deeper. */
function nestedBody(body) {
  const lines = body
    .replace(/^\s*\n/, "")
    .trimEnd()
    .split("\n");
  return lines.map((line) => {
    if (!/^#+ /.test(line)) return line;
    if (/^#{1,2} /.test(line)) {
      throw new Error(`results-file: the body may hold no # or ## heading, found "${line}"`);
    }
    return `#${line}`;
  });
}

/** The lines as a file: one newline at the end, none more. */
function finish(lines) {
  return `${lines.join("\n").replace(/\n*$/, "")}\n`;
}
