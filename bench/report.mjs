// Report benchmark (`llem report`): targets — a 56,832-run study's report builds in ≤ 10 s and
// ≤ 500 MB and opens in Chromium in ≤ 3 s; the quickstart's report is ≤ 1 MB.
//
// 1. The quickstart (examples/quickstart.yaml) really runs (about two minutes), then
//    `llem report` on it: HTML size, and what of it is the inlined plotting library.
// 2. A 56,832-run study dir is GENERATED with FAKE results (bench/lib/fake-study.mjs: the real
//    expansion of bench/lib/big-study.mjs, synthetic figures, no engine ran), then its report is
//    built in a fresh process per repeat (wall time, peak RSS), and opened in Debian's Chromium
//    (headless) until the page says it has drawn every table and plot.
// Needs a build (pnpm bench does it) and /usr/bin/chromium for the open times.
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { recordLatest } from "./lib/results-file.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, "../apps/cli/dist/cli.js");
const reportModule = join(here, "../packages/study/dist/report.js");
const { loadStudy } = await import(join(here, "../packages/study/dist/index.js"));
const { BIG_STUDY } = await import("./lib/big-study.mjs");
const { writeFakeStudy } = await import("./lib/fake-study.mjs");
const REPEATS = 3;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const load = () =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(" / ");
const loadBefore = load();
const work = mkdtempSync(join(tmpdir(), "llem-bench-report-"));
const lines = [];
const say = (line) => {
  console.log(line);
  lines.push(line);
};

function run(args, env = {}) {
  const outcome = spawnSync(process.execPath, [cli, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  if (outcome.status !== 0)
    throw new Error(`llem ${args.join(" ")} exited ${outcome.status}: ${outcome.stderr}`);
  return outcome.stdout;
}

/** Opens `file` in headless Chromium REPEATS times: ms from navigation to the page's "drawn". */
async function openTimes(file) {
  if (!existsSync("/usr/bin/chromium")) return null;
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless=new", "--no-sandbox", "--disable-gpu"],
  });
  const times = [];
  const firstScreens = [];
  let timings;
  try {
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const start = performance.now();
      await page.goto(`file://${file}`, { timeout: 120_000 });
      await page.waitForFunction(() => window.llemReport !== undefined, undefined, {
        timeout: 120_000,
      });
      times.push(performance.now() - start);
      const state = await page.evaluate(() => window.llemReport);
      if (!state.ready) throw new Error(`the report did not draw: ${state.error}`);
      timings = state.timings;
      firstScreens.push(state.timings.firstScreen);
      await page.close();
    }
  } finally {
    await browser.close();
  }
  return {
    median: median(times),
    min: Math.min(...times),
    max: Math.max(...times),
    firstScreen: median(firstScreens),
    timings,
  };
}

try {
  // 1. The quickstart, for real.
  const require = createRequire(join(here, "../packages/study/package.json"));
  const uplotBytes =
    statSync(require.resolve("uplot/dist/uPlot.iife.min.js")).size +
    statSync(require.resolve("uplot/dist/uPlot.min.css")).size;
  const clientBytes = statSync(join(here, "../packages/study/dist/report-client.js")).size;
  const started = Date.now();
  run([
    "run",
    join(here, "../examples/quickstart.yaml"),
    "--results-dir",
    join(work, "quickstart"),
  ]);
  const quickstartDir = join(work, "quickstart", readdirSync(join(work, "quickstart"))[0]);
  const quick = JSON.parse(run(["report", quickstartDir, "--json"]));
  const quickOpen = await openTimes(quick.output);
  say(
    `quickstart (real run, ${Math.round((Date.now() - started) / 1000)} s): report.html ${(quick.bytes / 1024).toFixed(0)} KB (target ≤ 1024 KB), ${quick.plots.length} plots; of it uPlot ${uPlot(uplotBytes)} and the page script ${(clientBytes / 1024).toFixed(1)} KB; every plot drawn ${quickOpen ? `${quickOpen.median.toFixed(0)} ms` : "– (no chromium)"} after navigation`,
  );

  // 2. A 56,832-run study with fake results.
  const yaml = join(work, "big.yaml");
  writeFileSync(yaml, BIG_STUDY);
  const loaded = await loadStudy(yaml);
  const studyDir = join(work, "big", "big_2026-01-01T00-00-00");
  mkdirSync(studyDir, { recursive: true });
  const generatedAt = Date.now();
  const runs = writeFakeStudy(studyDir, BIG_STUDY, loaded);
  say(
    `generated a ${runs.toLocaleString("en-US")}-run study dir with FAKE results (${loaded.configs.length.toLocaleString("en-US")} configs) in ${((Date.now() - generatedAt) / 1000).toFixed(1)} s`,
  );
  const builds = [];
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    const script = `const { buildReport } = await import(${JSON.stringify(reportModule)});
const start = performance.now();
const built = await buildReport([${JSON.stringify(studyDir)}], { output: ${JSON.stringify(join(work, "big.html"))} });
console.log(JSON.stringify({ ms: performance.now() - start, bytes: built.bytes, rssMb: process.resourceUsage().maxRSS / 1024, plots: built.plots.length }));`;
    const outcome = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    if (outcome.status !== 0) throw new Error(`report build failed: ${outcome.stderr}`);
    builds.push(JSON.parse(outcome.stdout));
  }
  const buildMs = median(builds.map((item) => item.ms));
  const rssMb = Math.max(...builds.map((item) => item.rssMb));
  say(
    `56,832-run report build: median ${(buildMs / 1000).toFixed(1)} s wall (min ${(Math.min(...builds.map((item) => item.ms)) / 1000).toFixed(1)}, max ${(Math.max(...builds.map((item) => item.ms)) / 1000).toFixed(1)}; ${REPEATS} fresh processes; target ≤ 10 s), peak RSS ${rssMb.toFixed(0)} MB (target ≤ 500 MB); HTML ${(builds[0].bytes / 1e6).toFixed(1)} MB, ${builds[0].plots} plots`,
  );
  const bigOpen = await openTimes(join(work, "big.html"));
  if (bigOpen) {
    const { data, tables } = bigOpen.timings;
    say(
      `56,832-run report in Chromium (headless): first screen painted at ${(bigOpen.firstScreen / 1000).toFixed(2)} s after navigation (median of ${REPEATS}; target: opens ≤ 3 s), every one of its plots drawn at ${(bigOpen.median / 1000).toFixed(2)} s (min ${(bigOpen.min / 1000).toFixed(2)}, max ${(bigOpen.max / 1000).toFixed(2)}); in-page: data ${data.toFixed(0)} ms, tables ${tables.toFixed(0)} ms`,
    );
  } else {
    say("open times not measured: /usr/bin/chromium is missing (apt-get install chromium)");
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
say(`load average (1/5/15 min) before ${loadBefore}, after ${load()} (2 cores, shared)`);

function uPlot(bytes) {
  return `${(bytes / 1024).toFixed(1)} KB (uPlot.iife.min.js + uPlot.min.css)`;
}

const date = new Date().toISOString().slice(0, 10);
await recordLatest({
  bench: "report.mjs",
  title: "Report",
  heading: `report — ${date}`,
  body: `\`node bench/report.mjs\` (Node ${process.version}). The 56,832-run study is generated with fake results (no engine ran); the quickstart runs for real.\n\n${lines.map((line) => `- ${line}`).join("\n")}\n`,
  replaces: /^### report — \d{4}-\d{2}-\d{2}/,
});
