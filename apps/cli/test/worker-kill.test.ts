/**
 * The one-node kill test (issue 12): 4 `llem worker` processes share a 200-run study of the
 * test-only fake experiment worker; every couple of seconds one of them is SIGKILLed and a new
 * one started in its place. Afterwards every run is completed exactly once — the attempt that
 * completed is the run's last (nothing claimed a completed run again), the manifest names that
 * attempt's result file, no attempt beyond it exists — and the manifest read lock-free every few
 * hundred ms stayed valid, consistent and monotonic the whole time.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { exited, seededRandom, tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import {
  type LiveCli,
  onlyStudyDir,
  readStudyManifest,
  runCli,
  startCli,
  tinyStudyYaml,
  workerFault,
  writeText,
} from "./helpers.js";

describe("4 workers, one SIGKILLed every few seconds and restarted", { timeout: 600_000 }, () => {
  it("completes every run of a 200-run study exactly once; the manifest is valid throughout", async () => {
    const dir = await tempDir();
    const sizes = Array.from({ length: 100 }, (_, index) => index + 1);
    const file = await writeText(
      dir,
      "study.yaml",
      tinyStudyYaml({ batchSizes: sizes, cycles: 2 }),
    );
    const resultsDir = join(dir, "results");
    const made = await runCli(["slurm", file, "--array", "4", "--results-dir", resultsDir]);
    expect(made.code, made.stderr).toBe(0);
    const studyDir = await onlyStudyDir(resultsDir);
    const log = join(dir, "starts.log");
    const env = workerFault("fake", {
      LLEM_TEST_WORKER_DELAY_MS: "150",
      LLEM_TEST_WORKER_LOG: log,
    });
    const start = (): LiveCli => startCli(["worker", studyDir, "--json"], { env });

    // The manifest as any reader sees it, every 300 ms while the workers run.
    let watching = true;
    let reads = 0;
    let lastCompleted = 0;
    const problems: string[] = [];
    const watcher = (async () => {
      while (watching) {
        try {
          const manifest = await readStudyManifest(studyDir);
          reads++;
          const entries = manifest.experiments;
          if (entries.length !== 200) problems.push(`${entries.length} runs`);
          const completed = entries.filter((entry) => entry.status === "completed").length;
          if (completed < lastCompleted)
            problems.push(`completed went ${lastCompleted} → ${completed}`);
          lastCompleted = completed;
          for (const entry of entries) {
            if (entry.status === "completed" && !entry.result_file) {
              problems.push(`completed without result_file: ${entry.config_hash}`);
            }
            if (entry.status === "running" && !entry.lease) {
              problems.push(`running without lease: ${entry.config_hash}`);
            }
          }
        } catch (error) {
          problems.push(`read failed: ${(error as Error).message}`);
        }
        await sleep(300);
      }
    })();

    const workers = [start(), start(), start(), start()];
    const random = seededRandom(12);
    let kills = 0;
    let killedMidRun = 0;
    try {
      for (;;) {
        await sleep(1500 + random() * 1500);
        const manifest = await readStudyManifest(studyDir);
        if (manifest.experiments.every((entry) => entry.status === "completed")) break;
        const index = Math.floor(random() * workers.length);
        const victim = workers[index]!;
        if (victim.child.exitCode !== null) {
          workers[index] = start();
          continue;
        }
        const holding = manifest.experiments.some(
          (entry) => entry.status === "running" && entry.lease?.pid === victim.child.pid,
        );
        victim.child.kill("SIGKILL");
        await exited(victim.child);
        kills++;
        if (holding) killedMidRun++;
        workers[index] = start();
        if (kills > 60) throw new Error("the study did not finish after 60 kills");
      }
      const outcomes = await Promise.all(workers.map((worker) => worker.exited));
      for (const outcome of outcomes) expect(outcome.code, outcome.stderr).toBe(0);
    } finally {
      for (const worker of workers) worker.child.kill("SIGKILL");
      watching = false;
      await watcher;
    }

    expect(kills).toBeGreaterThanOrEqual(3);
    expect(killedMidRun).toBeGreaterThanOrEqual(1);
    expect(problems).toEqual([]);
    expect(reads).toBeGreaterThan(10);

    const manifest = await readStudyManifest(studyDir);
    const starts = (await readFile(log, "utf8")).split("\n").filter(Boolean);
    const experimentDirs = new Set(await readdir(join(studyDir, "experiments")));
    let rerun = 0;
    for (const entry of manifest.experiments) {
      expect(entry.status).toBe("completed");
      const attempts = entry.attempts ?? 0;
      expect(attempts).toBeGreaterThanOrEqual(1);
      if (attempts > 1) rerun++;
      // The completed attempt is the last one: the manifest names its result file.
      const recorded = entry.result_file as string;
      const runDir = recorded.split("/")[1] as string;
      const base = runDir.replace(/_a\d+$/, "");
      expect(runDir).toBe(attempts === 1 ? base : `${base}_a${attempts}`);
      expect(existsSync(join(studyDir, recorded))).toBe(true);
      // No attempt after the one that completed, and each experiment started at most once per attempt.
      expect(experimentDirs.has(`${base}_a${attempts + 1}`)).toBe(false);
      const started = starts.filter((line) => line === `${entry.config_hash} ${entry.cycle}`);
      expect(started.length).toBeGreaterThanOrEqual(1);
      expect(started.length).toBeLessThanOrEqual(attempts);
    }
    expect(rerun).toBeGreaterThanOrEqual(1);
    const summary = JSON.parse(await readFile(join(studyDir, "study_summary.json"), "utf8"));
    expect(summary).toMatchObject({ status: "completed", counts: { completed: 200 } });
  });
});
