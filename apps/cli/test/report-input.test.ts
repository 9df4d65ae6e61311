/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { findChromium, launchChromium, openOffline, tempDir } from "@llem/test-utils";
import { XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import {
  expectCleanFailure,
  onlyStudyDir,
  plannedRuns,
  runCli,
  workerFault,
  writeText,
} from "./helpers.js";

// Studies run with the worker's fake engine (LLEM_TEST_WORKER_FAULT=fake: real processes and
// files, synthetic figures, no inference), so these tests are about the report, not the engine.
// A model file whose path is the hostile name (validate and run check that the model exists).
const HOSTILE_MODEL =
  "x<img src=x onerror=alert(1)><script>window.hacked=1</script>\u001b[31m.gguf";
const HOSTILE_STUDY = `study_name: hostile
task:
  model: "x<img src=x onerror=alert(1)><script>window.hacked=1</script>\\e[31m.gguf"
  dataset: {n_prompts: 2}
  max_output_tokens: 4
sweep:
  llamacpp.batch_size: [1, 2, 4]
study_execution: {n_cycles: 2}
`;

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

async function fakeStudy(dir: string, yaml: string, env: NodeJS.ProcessEnv = workerFault("fake")) {
  const file = await writeText(dir, "study.yaml", yaml);
  const resultsDir = join(dir, "results");
  const ran = await runCli(["run", file, "--results-dir", resultsDir], { env });
  return { file, ran, studyDir: await onlyStudyDir(resultsDir) };
}

describe("llem report on hostile and odd input", () => {
  it.skipIf(!findChromium() && !process.env.CI)(
    "shows names with HTML and control characters as text, runs none of it, and writes only to -o and --svg-dir",
    async () => {
      const dir = await tempDir();
      const modelDir = join(dir, HOSTILE_MODEL.slice(0, HOSTILE_MODEL.lastIndexOf("/")));
      await mkdir(modelDir, { recursive: true });
      await writeFile(join(dir, HOSTILE_MODEL), "");
      const file = await writeText(dir, "plan.yaml", HOSTILE_STUDY);
      const [first] = await plannedRuns(file);
      // One run fails, so the hostile name also shows in the (server-rendered) failure list.
      const { ran, studyDir } = await fakeStudy(
        dir,
        HOSTILE_STUDY,
        workerFault("error", {
          LLEM_TEST_WORKER_FAULT_ONLY: `${first?.config_hash}:1`,
          LLEM_TEST_WORKER_OTHERWISE: "fake",
        }),
      );
      expect(ran.code).toBe(1); // one run failed
      const before = await filesUnder(studyDir);
      const out = join(dir, "out");
      const built = await runCli(
        ["report", studyDir, "-o", join(out, "r.html"), "--svg-dir", join(out, "svg")],
        { cwd: dir },
      );
      expect(built.code, built.stderr).toBe(0);
      // Nothing new in the study dir or the working dir; the outputs only where asked.
      expect(await filesUnder(studyDir)).toEqual(before);
      const outputs = await filesUnder(out);
      expect(outputs[0]).toBe("r.html");
      expect(outputs.slice(1).every((name) => /^svg\/[a-z0-9-]+\.svg$/.test(name))).toBe(true);
      expect((await readdir(dir)).sort()).toEqual(
        ["out", "plan.yaml", "results", "study.yaml", HOSTILE_MODEL.split("/")[0]!].sort(),
      );

      const html = await readFile(join(out, "r.html"), "utf8");
      expect(html).not.toContain("<script>window.hacked");
      expect(html).not.toContain("<img src=x");
      expect(html).not.toContain("\u001b");
      expect(html).toContain("&lt;script&gt;window.hacked=1&lt;/script&gt;");
      for (const name of outputs.slice(1)) {
        const svg = await readFile(join(out, name), "utf8");
        expect(XMLValidator.validate(svg), name).toBe(true);
        expect(svg).not.toContain("<script");
      }

      const browser = await launchChromium();
      try {
        const { page, watch } = await openOffline(browser, `file://${join(out, "r.html")}`);
        const dialogs: string[] = [];
        page.on("dialog", (dialog) => {
          dialogs.push(dialog.message());
          void dialog.dismiss();
        });
        await page.waitForFunction(() => window.llemReport?.ready === true);
        const seen = await page.evaluate(() => ({
          hacked: (window as unknown as { hacked?: number }).hacked,
          images: document.querySelectorAll("img").length,
          scripts: document.querySelectorAll("script").length,
          text: document.body.textContent ?? "",
          table: document.querySelector(".config-table tbody")?.textContent ?? "",
        }));
        expect(seen.hacked).toBeUndefined();
        expect(seen.images).toBe(0);
        expect(seen.scripts).toBe(3); // the data, uPlot and the page script
        const shown = HOSTILE_MODEL.replace("\u001b", "\\x1b");
        expect(seen.table).toContain(shown);
        expect(seen.text).toContain(`Failures and skipped configs`);
        expect(seen.text).toMatch(
          /llamacpp \/ x<img src=x onerror=alert\(1\)><script>window\.hacked=1<\/script>\\x1b\[31m\.gguf \/ batch=1/,
        );
        expect(dialogs).toEqual([]);
        expect(watch).toEqual({ consoleErrors: [], pageErrors: [], networkRequests: [] });
      } finally {
        await browser.close();
      }
    },
    120_000,
  );

  it("reads results defensively: newer fields, a requests.jsonl, a broken result.json", async () => {
    const dir = await tempDir();
    const { ran, studyDir } = await fakeStudy(
      dir,
      "study_name: odd\ntask: {model: synthetic:tiny}\nsweep: {llamacpp.batch_size: [1, 2]}\nstudy_execution: {n_cycles: 2}\n",
    );
    expect(ran.code, ran.stderr).toBe(0);
    const experiments = (await readdir(join(studyDir, "experiments"))).sort();
    // A newer writer's per-component energy blocks, on the first run.
    const firstResult = join(studyDir, "experiments", experiments[0] as string, "result.json");
    const result = JSON.parse(await readFile(firstResult, "utf8"));
    result.energy.components = [
      { component: "gpu0", method: "measured", energy_j: 1.5, per_gpu: { index: 0 } },
      { component: "cpu_package", method: "estimated", energy_j: 0.5 },
    ];
    result.future_block = { anything: [1, 2, 3] };
    await writeFile(firstResult, JSON.stringify(result));
    // A server engine's per-request records (one failed request), for the same config.
    const requests = [
      { ttft_ms: 10, e2e_ms: 100, itl_ms: [1, 2, 3], output_tokens: 4, error: null },
      { ttft_ms: 20, e2e_ms: 200, itl_ms: [2, 2], output_tokens: 3 },
      { ttft_ms: 5, error: "HTTP 500" },
      "not an object",
    ];
    await writeFile(
      join(studyDir, "experiments", experiments[0] as string, "requests.jsonl"),
      `${requests.map((line) => JSON.stringify(line)).join("\n")}\n{torn line\n`,
    );
    // And a result.json cut short, as a disk-full copy might leave it.
    const lastResult = join(studyDir, "experiments", experiments.at(-1) as string, "result.json");
    await writeFile(lastResult, (await readFile(lastResult, "utf8")).slice(0, 100));

    const built = await runCli(["report", studyDir, "--json"]);
    expect(built.code, built.stderr).toBe(0);
    const html = await readFile(join(studyDir, "report.html"), "utf8");
    expect(html).toContain("1 completed run(s) have a result.json that is missing or not JSON");
    expect(html).toMatch(
      /Components: gpu0 <span class="badge measured">measured<\/span> \(1 runs\), cpu_package <span class="badge estimated">estimated<\/span>/,
    );
    const data = JSON.parse(
      /<script type="application\/json" id="llem-data">(.*?)<\/script>/s.exec(html)?.[1] ?? "{}",
    );
    const ttft = (config: number) =>
      data.studies[0].latency.find(
        (item: { kind: string; config: number }) => item.kind === "ttft" && item.config === config,
      );
    // The first config: its requests (the failed one counted, the broken lines skipped) …
    expect(ttft(0)).toMatchObject({ source: "requests", samples: 2, errors: 1, ms: [10, 20] });
    // … the other: no requests.jsonl, so its result's percentiles (one readable cycle left).
    expect(ttft(1)).toMatchObject({ source: "percentiles", samples: 1 });
  }, 60_000);

  it("refuses bad input with exit 2, naming what is wrong, and writes nothing", async () => {
    const dir = await tempDir();
    const notAStudy = join(dir, "plain");
    await writeText(dir, "plain.txt", "hello");
    await writeFile(join(dir, "x"), "");
    expectCleanFailure(
      await runCli(["report", dir]),
      2,
      /is not a study directory \(no study_manifest\.json\)/,
    );
    expectCleanFailure(await runCli(["report", notAStudy]), 2, /plain is not a study directory/);
    expectCleanFailure(await runCli(["report"]), 2, /missing <study-dir>/);
    const { studyDir } = await fakeStudy(dir, "study_name: ok\ntask: {model: synthetic:tiny}\n");
    expectCleanFailure(
      await runCli(["report", studyDir, "-o", dir]),
      2,
      /is a directory; give a file name/,
    );
    expectCleanFailure(
      await runCli(["report", studyDir, "--svg-dir", join(dir, "x")]),
      2,
      /is a file, not a directory/,
    );
    expectCleanFailure(
      await runCli(["report", studyDir, "--cv-threshold", "lots"]),
      2,
      /--cv-threshold must be a fraction/,
    );
    expectCleanFailure(
      await runCli(["report", studyDir, notAStudy, "-o", join(dir, "r.html")]),
      2,
      /not a study directory/,
    );
    const left = await readdir(dir);
    expect(left.sort()).toEqual(["plain.txt", "results", "study.yaml", "x"]);
    expect(await readdir(studyDir)).not.toContain("report.html");
  }, 60_000);
});
