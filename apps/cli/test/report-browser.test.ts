/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// (page.evaluate callbacks below run in the browser.)
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findChromium, launchChromium, openOffline } from "@llem/test-utils";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onlyStudyDir, runCli, writeText } from "./helpers.js";

declare global {
  interface Window {
    llemReport?: {
      ready: boolean;
      plots: Array<{ id: string; markers: number; linePoints: number }>;
      error?: string;
    };
  }
}

// A study shaped like examples/quickstart.yaml (2 models × 2 batch sizes × 2 cycles = 8 runs),
// really run on the synthetic models with short prompts, then reported and opened in a real
// headless Chromium. Skips where no Chromium is installed, except in CI (.ci/run installs it).
const chromium = findChromium();
const QUICKSTART_SHAPED = `study_name: quickstart-shaped
task:
  dataset: {source: builtin:short, n_prompts: 4}
  max_output_tokens: 24
engine: llamacpp
llamacpp: {threads: 1}
measurement:
  energy: {sample_interval_ms: 10}
  baseline: {duration_seconds: 1}
  warmup: {enabled: false}
sweep:
  task.model: ["synthetic:tiny", "synthetic:small"]
  llamacpp.batch_size: [1, 2]
study_execution:
  n_cycles: 2
  experiment_order: interleave
  experiment_timeout_seconds: 120
`;

/** One config of `llem results --format json` (the fields used here). */
interface ConfigFigures {
  config_hash: string;
  energy_estimated: boolean;
  metrics: Record<
    "energy_per_output_token_j" | "output_tokens_per_s" | "ttft_p50_ms",
    { mean: number } | null
  >;
}
interface PlotInfo {
  id: string;
  title: string;
  markers: number;
  linePoints: number;
  svgFile?: string;
}

/** The Pareto front size by brute force (the test's own, not the report's, implementation). */
function frontSize(points: Array<[number, number]>, higherXBetter: boolean): number {
  const better = (a: number, b: number) => (higherXBetter ? a > b : a < b);
  return points.filter(
    ([x, y]) =>
      !points.some(
        ([ox, oy]) => (better(ox, x) || ox === x) && oy <= y && (better(ox, x) || oy < y),
      ),
  ).length;
}

/** Distinct colours and the share of non-white pixels of a PNG, decoded by the browser itself. */
async function pngInk(browser: Browser, png: Buffer) {
  const page = await browser.newPage();
  await page.setContent(`<img id="shot" src="data:image/png;base64,${png.toString("base64")}">`);
  const ink = await page.evaluate(async () => {
    const image = document.getElementById("shot") as HTMLImageElement;
    await image.decode();
    const canvas = document.createElement("canvas");
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    const context = canvas.getContext("2d") as CanvasRenderingContext2D;
    context.drawImage(image, 0, 0);
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    const colours = new Set<number>();
    let inked = 0;
    for (let index = 0; index < data.length; index += 4) {
      const [r, g, b] = [data[index] ?? 0, data[index + 1] ?? 0, data[index + 2] ?? 0];
      colours.add((r << 16) | (g << 8) | b);
      if (r < 240 || g < 240 || b < 240) inked++;
    }
    return { colours: colours.size, inked: inked / (data.length / 4), width: canvas.width };
  });
  await page.close();
  return ink;
}

/** Non-background pixels on each plot's canvas, keyed by figure id. */
function canvasInk(page: Page) {
  return page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll("figure[data-view]")].map((figure) => {
        const canvas = figure.querySelector("canvas") as HTMLCanvasElement | null;
        if (!canvas) return [figure.id, 0];
        const context = canvas.getContext("2d") as CanvasRenderingContext2D;
        const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
        let inked = 0;
        for (let index = 3; index < data.length; index += 4) if ((data[index] ?? 0) > 0) inked++;
        return [figure.id, inked];
      }),
    ),
  );
}

describe.skipIf(!chromium && !process.env.CI)(
  "llem report in a real browser (skips without Chromium outside CI)",
  { timeout: 600_000 },
  () => {
    let browser: Browser;
    let studyDir: string;
    let work: string;
    let figures: ConfigFigures[];

    beforeAll(async () => {
      // A temp dir for the whole file (tempDir() belongs to one test); removed in afterAll.
      work = await mkdtemp(join(tmpdir(), "llem-report-test-"));
      const file = await writeText(work, "study.yaml", QUICKSTART_SHAPED);
      const run = await runCli(["run", file, "--results-dir", join(work, "results")], {
        timeoutMs: 420_000,
      });
      expect(run.code, run.stderr + run.stdout).toBe(0);
      studyDir = await onlyStudyDir(join(work, "results"));
      const results = await runCli(["results", studyDir, "--format", "json"]);
      figures = JSON.parse(results.stdout) as ConfigFigures[];
      browser = await launchChromium();
    }, 600_000);

    afterAll(async () => {
      await browser?.close();
      if (work && process.env.LLEM_KEEP_TMP !== "1")
        await rm(work, { recursive: true, force: true });
    });

    it("opens offline with every section, each plot drawn with the expected points, the table sortable, estimates marked", async () => {
      const svgDir = join(work, "figures");
      const built = await runCli(["report", studyDir, "--svg-dir", svgDir, "--json"]);
      expect(built.code, built.stderr).toBe(0);
      const { output, bytes, plots } = JSON.parse(built.stdout) as {
        output: string;
        bytes: number;
        plots: PlotInfo[];
      };
      expect(output).toBe(join(studyDir, "report.html"));
      expect(bytes).toBeLessThan(1024 * 1024);

      // What each plot must show, from `llem results` and the files on disk.
      expect(figures).toHaveLength(4);
      const pair = (item: ConfigFigures, x: "output_tokens_per_s" | "ttft_p50_ms") =>
        [item.metrics[x]?.mean, item.metrics.energy_per_output_token_j?.mean] as [number, number];
      const points = figures.map((item) => pair(item, "output_tokens_per_s"));
      const ttftPoints = figures.map((item) => pair(item, "ttft_p50_ms"));
      for (const point of [...points, ...ttftPoints])
        expect(point.every(Number.isFinite)).toBe(true);
      const byId = new Map(plots.map((plot) => [plot.id, plot]));
      expect(byId.get("s0-pareto-throughput")).toMatchObject({
        markers: 4,
        linePoints: frontSize(points, true),
      });
      expect(byId.get("s0-pareto-ttft")).toMatchObject({
        markers: 4,
        linePoints: frontSize(ttftPoints, false),
      });
      expect(byId.get("s0-axis-1-task-model")).toMatchObject({ markers: 0, linePoints: 4 });
      expect(byId.get("s0-axis-2-llamacpp-batch-size")).toMatchObject({ linePoints: 4 });
      // No requests.jsonl from llama.cpp: each config's result percentiles (5 points).
      expect(byId.get("s0-latency")).toMatchObject({ linePoints: 4 * 5 });

      const { page, watch } = await openOffline(browser, `file://${output}`);
      await page.waitForFunction(() => window.llemReport !== undefined, undefined, {
        timeout: 60_000,
      });
      const state = await page.evaluate(() => window.llemReport);
      expect(state?.error).toBeUndefined();
      expect(state?.ready).toBe(true);
      const text = await page.evaluate(() => document.body.textContent ?? "");
      for (const heading of [
        "Energy sources",
        "Protocol",
        "Environment",
        "Warnings",
        "Configs",
        "Pareto fronts",
        "Sweep axes",
        "Latency distributions",
        "Power over time",
        "Failures and skipped configs",
      ]) {
        expect(text).toContain(heading);
      }

      // Each figure drew what the report says it has, and its canvas has ink.
      const drawn = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>("figure[data-view]")].map((figure) => ({
          id: figure.dataset.plotId,
          markers: Number(figure.dataset.markers),
          linePoints: Number(figure.dataset.linePoints),
          drawn: figure.querySelector<HTMLElement>(".plot")?.dataset.drawn,
          caption: figure.querySelector("figcaption")?.textContent ?? "",
        })),
      );
      expect(drawn.map((plot) => plot.id)).toEqual(plots.map((plot) => plot.id));
      for (const plot of drawn) {
        expect(plot, plot.id).toMatchObject({
          markers: byId.get(plot.id ?? "")?.markers,
          linePoints: byId.get(plot.id ?? "")?.linePoints,
          drawn: "true",
        });
      }
      const ink = await canvasInk(page);
      for (const [id, pixels] of Object.entries(ink)) expect(pixels, id).toBeGreaterThan(500);

      // The power plot shows every sample of the experiment its caption names.
      const power = drawn.find((plot) => plot.id === "s0-power");
      const experiment = /From (\S+)\/timeseries\.csv/.exec(power?.caption ?? "")?.[1] ?? "";
      const csv = await readFile(
        join(studyDir, "experiments", experiment, "timeseries.csv"),
        "utf8",
      );
      const samples = csv.trim().split("\n").length - 1;
      expect(samples).toBeGreaterThan(0);
      expect(power?.linePoints).toBe(Math.min(samples, 600));

      // Estimated energy is marked in the table and drawn as its own (hollow) series.
      const estimated = figures.filter((item) => item.energy_estimated).length;
      const marks = await page.locator(".config-table .est").count();
      if (estimated > 0) {
        expect(marks).toBeGreaterThanOrEqual(estimated);
        expect(text).toContain("estimated energy");
      } else {
        expect(marks).toBe(0);
      }

      // The table sorts by a column, both ways.
      const header = page.locator(".config-table th", { hasText: "out tok/s" });
      const column = await page.evaluate(
        () =>
          [...document.querySelectorAll(".config-table th")].findIndex((th) =>
            th.textContent?.includes("out tok/s"),
          ) + 1,
      );
      const cells = () =>
        page.$$eval(`.config-table tbody td:nth-child(${column})`, (tds) =>
          tds.map((td) =>
            Number((td.firstChild?.textContent ?? "").split("±")[0]?.replace(/,/g, "")),
          ),
        );
      await header.locator("button").click();
      expect(await header.getAttribute("aria-sort")).toBe("ascending");
      const ascending = await cells();
      expect(ascending).toEqual([...ascending].sort((a, b) => a - b));
      await header.locator("button").click();
      expect(await header.getAttribute("aria-sort")).toBe("descending");
      expect(await cells()).toEqual([...ascending].reverse());

      const shot = await page.screenshot({ fullPage: true });
      const inkOfShot = await pngInk(browser, shot);
      expect(inkOfShot.width).toBe(1280);
      expect(inkOfShot.colours).toBeGreaterThan(50);
      expect(inkOfShot.inked).toBeGreaterThan(0.02);
      expect(watch).toEqual({ consoleErrors: [], pageErrors: [], networkRequests: [] });
      await page.close();

      // The same plots as standalone SVGs: well-formed XML with the same points.
      const svgFiles = (await readdir(svgDir)).sort();
      expect(svgFiles).toEqual(plots.map((plot) => `${plot.id}.svg`).sort());
      const parser = new XMLParser({
        ignoreAttributes: false,
        isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
      });
      for (const plot of plots) {
        const xml = await readFile(join(svgDir, `${plot.id}.svg`), "utf8");
        expect(XMLValidator.validate(xml), plot.id).toBe(true);
        const svg = parser.parse(xml).svg[0];
        const circles = (svg.circle ?? []) as Array<Record<string, string>>;
        const lines = (svg.polyline ?? []) as Array<Record<string, string>>;
        const markers = circles.filter((circle) => circle["@_class"] === "point").length;
        const vertices = lines.reduce(
          (sum, line) => sum + (line["@_points"] ?? "").trim().split(/\s+/).filter(Boolean).length,
          0,
        );
        expect({ markers, vertices }, plot.id).toEqual({
          markers: plot.markers,
          vertices: plot.linePoints,
        });
      }
    }, 300_000);

    it("flags a figure whose cycle-to-cycle CV is above --cv-threshold, and no figure below it", async () => {
      const cvOf = async (threshold: string) => {
        const output = join(work, `cv-${threshold}.html`);
        const built = await runCli(["report", studyDir, "-o", output, "--cv-threshold", threshold]);
        expect(built.code, built.stderr).toBe(0);
        const { page } = await openOffline(browser, `file://${output}`);
        await page.waitForFunction(() => window.llemReport?.ready === true);
        const cvs = await page.$$eval(".config-table td .cv", (items) =>
          items.map((item) => ({
            text: item.textContent ?? "",
            flagged: item.parentElement?.classList.contains("flag") ?? false,
          })),
        );
        await page.close();
        return cvs;
      };
      // Two cycles of real runs: every figure has a CV, none as high as 900 %, all above 1e-9.
      const none = await cvOf("9");
      expect(none.length).toBeGreaterThan(0);
      expect(none.filter((cv) => cv.flagged)).toEqual([]);
      const all = await cvOf("0.000000001");
      const positive = all.filter((cv) => !/^⚠? ?CV 0\.0%$/.test(cv.text));
      expect(positive.length).toBeGreaterThan(0);
      for (const cv of positive) {
        expect(cv.flagged, cv.text).toBe(true);
        expect(cv.text).toMatch(/^⚠ CV /);
      }
    }, 120_000);

    it("compares two studies by config hash, side by side with deltas", async () => {
      const copy = join(work, "copy", "quickstart-shaped_copy");
      await cp(studyDir, copy, { recursive: true });
      // The second study is the first with every run's output throughput 20 % lower: its tok/s
      // deltas must read −20 %, every other delta 0.
      for (const name of await readdir(join(copy, "experiments"))) {
        const file = join(copy, "experiments", name, "result.json");
        const result = JSON.parse(await readFile(file, "utf8"));
        result.throughput.output_tokens_per_s *= 0.8;
        await writeFile(file, JSON.stringify(result));
      }
      const output = join(work, "compare.html");
      const built = await runCli(["report", studyDir, copy, "-o", output, "--json"]);
      expect(built.code, built.stderr).toBe(0);
      const { plots } = JSON.parse(built.stdout) as { plots: PlotInfo[] };
      expect(plots[0]).toMatchObject({ id: "compare-pareto", markers: 8 });
      const { page, watch } = await openOffline(browser, `file://${output}`);
      await page.waitForFunction(() => window.llemReport?.ready === true);
      expect(await page.locator(".compare-table tbody tr").count()).toBe(4);
      const deltas = await page.$$eval(".compare-table .delta", (items) =>
        items.map((item) => item.textContent),
      );
      expect(deltas.filter((delta) => delta === "−20%")).toHaveLength(4); // one per config
      const rest = deltas.filter((delta) => delta !== "−20%");
      expect(rest.length).toBeGreaterThan(0);
      for (const delta of rest) expect(delta).toMatch(/^[+−]0\.0%$/);
      expect(watch).toEqual({ consoleErrors: [], pageErrors: [], networkRequests: [] });
      await page.close();
    }, 120_000);
  },
);
