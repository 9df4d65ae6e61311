// recordLatest on copies of the real bench/RESULTS.md (`node --test bench/lib/results-file.test.mjs`;
// needs `pnpm --filter @llem/manifest build`). vitest's projects do not include bench/.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { fileURLToPath } from "node:url";
import { recordLatest } from "./results-file.mjs";

const real = join(dirname(fileURLToPath(import.meta.url)), "..", "RESULTS.md");
let dir;
let file;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "llem-results-file-"));
  file = join(dir, "RESULTS.md");
  copyFileSync(real, file);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The file cut at its `## ` lines: [heading line, whole text of the section]. */
function sections(text) {
  return text.split(/\n(?=## )/).map((part) => [part.split("\n")[0], part.replace(/\n*$/, "")]);
}
const read = () => readFileSync(file, "utf8");
const sectionOf = (text, bench) =>
  sections(text).find(([heading]) => heading.endsWith(`\`bench/${bench}\``))?.[1];
const quiet = async (run) => {
  const { log, warn } = console;
  console.log = () => {};
  console.warn = () => {};
  try {
    return await run();
  } finally {
    Object.assign(console, { log, warn });
  }
};

const threadRun = (day, figure) => ({
  file,
  bench: "thread-default.mjs",
  title: "Thread default",
  heading: `2027-01-${day} thread default (bench/thread-default.mjs) — test CPU, 2 cores`,
  body: `\nCommand: \`node bench/thread-default.mjs\`.\n\nsmall: fastest in ${figure} of 10 runs.\n`,
  replaces: /^### \d{4}-\d{2}-\d{2} thread default/,
});

test("replacing an entry keeps every other section byte-identical", async () => {
  const before = read();
  const result = await quiet(() => recordLatest(threadRun("05", 9)));
  assert.equal(result.outcome, "replaced");
  assert.match(result.replaced, /^### 2026-12-01 thread default/);
  const after = read();
  const [old, now] = [sections(before), sections(after)];
  assert.deepEqual(
    now.map(([heading]) => heading),
    old.map(([heading]) => heading),
  );
  for (const [index, [heading, text]] of old.entries()) {
    if (heading.endsWith("`bench/thread-default.mjs`")) continue;
    assert.equal(now[index][1], text, `${heading} changed`);
  }
  assert.equal(
    sectionOf(after, "thread-default.mjs"),
    "## Thread default — `bench/thread-default.mjs`\n\n" +
      "### 2027-01-05 thread default (bench/thread-default.mjs) — test CPU, 2 cores\n\n" +
      "Command: `node bench/thread-default.mjs`.\n\nsmall: fastest in 9 of 10 runs.",
  );
  assert.ok(after.endsWith("| 1.00 |\n"), "the file still ends as it did, one newline");
  assert.deepEqual(readdirSync(dir), ["RESULTS.md"], "no temp file left behind");
});

test("a second record replaces the first: the same shape, the newer figures", async () => {
  await quiet(() => recordLatest(threadRun("05", 9)));
  const once = read();
  const second = await quiet(() => recordLatest(threadRun("06", 10)));
  assert.match(second.replaced, /^### 2027-01-05 thread default/);
  const twice = read();
  assert.equal(
    twice,
    once.replace("2027-01-05", "2027-01-06").replace("fastest in 9 of 10", "fastest in 10 of 10"),
  );
  assert.equal(twice.match(/^### \d{4}-\d{2}-\d{2} thread default/gm).length, 1);
});

test("subsections that do not match are kept, and headings in the body nest one level down", async () => {
  const before = sectionOf(read(), "engine.mjs");
  const result = await quiet(() =>
    recordLatest({
      file,
      bench: "engine.mjs",
      title: "Engine",
      heading: "2027-01-05 engine (bench/engine.mjs) — test CPU, 2 cores, libuv pool 1 thread(s)",
      body: "### Engine overhead: test\n\n#### Native build\n\nrows\n",
      replaces: /^### \d{4}-\d{2}-\d{2} engine \(/,
    }),
  );
  assert.match(result.replaced, /^### 2026-12-01 engine/);
  const after = sectionOf(read(), "engine.mjs");
  const intro = before.slice(0, before.indexOf("\n### "));
  const kept = before.slice(before.indexOf("### synthetic:large"));
  assert.equal(
    after,
    `${intro}\n### 2027-01-05 engine (bench/engine.mjs) — test CPU, 2 cores, libuv pool 1 thread(s)\n\n` +
      `#### Engine overhead: test\n\n##### Native build\n\nrows\n\n${kept}`,
  );
  // The 2026-11-24 run under "synthetic:large" also matches; only the first match is replaced.
  assert.match(after, /^### 2026-11-24 engine \(bench\/engine\.mjs\)/m);
  assert.match(after, /^### Batch scaling — `bench\/engine\.mjs`/m);
});

test("no entry of that kind: the new one goes first, after the section's intro", async () => {
  const before = sectionOf(read(), "sweep-cap.mjs");
  const result = await quiet(() =>
    recordLatest({
      file,
      bench: "sweep-cap.mjs",
      title: "Sweep-cap",
      heading: "sweep-cap — 2027-01-05 (other: a kind not there yet)",
      body: "| study | outcome |\n|---|---|\n",
      replaces: /^### sweep-cap — \d{4}-\d{2}-\d{2} \(other\b/,
    }),
  );
  assert.equal(result.outcome, "inserted");
  const intro =
    '## Sweep-cap — `bench/sweep-cap.mjs`\n\nThe "before" run is the same-day reference: the build without the size cap.\n\n';
  assert.equal(
    sectionOf(read(), "sweep-cap.mjs"),
    `${intro}### sweep-cap — 2027-01-05 (other: a kind not there yet)\n\n| study | outcome |\n|---|---|\n\n${before.slice(intro.length)}`,
  );
});

test("a missing section is created at the end; a missing file is created", async () => {
  const before = read();
  const run = {
    file,
    bench: "thread-cold-start.mjs",
    title: "Thread cold start",
    heading: "2027-01-05 thread cold start (bench/thread-cold-start.mjs) — test CPU, 2 cores",
    body: "| model | binary |\n|---|---|\n",
    replaces: /^### \d{4}-\d{2}-\d{2} thread cold start/,
  };
  const result = await quiet(() => recordLatest(run));
  assert.equal(result.outcome, "created");
  const section =
    "## Thread cold start — `bench/thread-cold-start.mjs`\n\n" +
    "### 2027-01-05 thread cold start (bench/thread-cold-start.mjs) — test CPU, 2 cores\n\n" +
    "| model | binary |\n|---|---|\n";
  assert.equal(read(), `${before}\n${section}`);
  const again = await quiet(() =>
    recordLatest({ ...run, heading: run.heading.replace("05", "06") }),
  );
  assert.equal(again.outcome, "replaced");
  assert.equal(read(), `${before}\n${section.replace("2027-01-05", "2027-01-06")}`);

  const fresh = join(dir, "new.md");
  await quiet(() => recordLatest({ ...run, file: fresh }));
  assert.equal(readFileSync(fresh, "utf8"), `# Benchmark results\n\n${section}`);
});

test("RESULTS_FILE points it at another file; the Summary table is left alone and named", async () => {
  const summary = (text) => sections(text).find(([heading]) => heading === "## Summary")[1];
  const before = read();
  const printed = [];
  const { log } = console;
  console.log = (line) => printed.push(line);
  process.env.RESULTS_FILE = file;
  try {
    const { file: _, ...run } = threadRun("05", 9);
    const result = await recordLatest(run);
    assert.equal(result.path, file);
  } finally {
    delete process.env.RESULTS_FILE;
    console.log = log;
  }
  assert.equal(summary(read()), summary(before));
  assert.deepEqual(printed, [
    `recorded in ${file}, section of bench/thread-default.mjs, replacing "### 2026-12-01 thread default (bench/thread-default.mjs) — AMD EPYC, 2 cores"`,
    `update bench/thread-default.mjs's row of the ## Summary table in ${file} by hand`,
  ]);
});

test("a body with a ## heading is refused before anything is written", async () => {
  const before = read();
  await assert.rejects(
    quiet(() => recordLatest({ ...threadRun("05", 9), body: "## not a subsection\n" })),
    /the body may hold no # or ## heading/,
  );
  assert.equal(read(), before);
});
