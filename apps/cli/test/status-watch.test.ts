import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { tempDir, waitFor } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import {
  expectCleanFailure,
  expectNoEscapes,
  runCli,
  startCli,
  tinyStudyYaml,
  workerFault,
  writeText,
} from "./helpers.js";

describe("llem status --watch (a real study running in another process)", () => {
  it("prints one plain line per change, with the holder, the running run and the ETA, and exits when the study ends", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "study.yaml",
      tinyStudyYaml({ batchSizes: [1, 2], cycles: 2 }),
    );
    const resultsDir = join(dir, "results");
    const runner = startCli(["run", file, "--results-dir", resultsDir], {
      env: workerFault("fake", { LLEM_TEST_WORKER_DELAY_MS: "1200" }),
    });
    const studyDir = await waitFor(
      async () => {
        const names = await readdir(resultsDir).catch(() => []);
        const found = names.find((name) =>
          existsSync(join(resultsDir, name, "study_manifest.json")),
        );
        return found ? join(resultsDir, found) : undefined;
      },
      { timeoutMs: 60_000, what: "the study dir" },
    );
    const watcher = startCli(["status", "--watch", studyDir]);
    const [watched, ran] = await Promise.all([watcher.exited, runner.exited]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(watched.code, watched.stderr).toBe(0);
    expectNoEscapes(watched.stdout);

    const lines = watched.stdout.trim().split("\n");
    expect(lines.at(-1)).toBe("study completed");
    const progress = lines.slice(0, -1);
    for (const line of progress)
      expect(line).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z tiny: \d\/4 done/);
    // It followed the study: several distinct states, progress never going back, ending at 4/4.
    expect(new Set(progress.map((line) => line.slice(25))).size).toBe(progress.length);
    expect(progress.length).toBeGreaterThanOrEqual(3);
    const done = progress.map((line) => Number(/ (\d)\/4 done/.exec(line)?.[1]));
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(done.at(-1)).toBe(4);
    // While it ran: the run in progress, the ETA and the runner holding the lock.
    const pid = runner.child.pid as number;
    const live = progress.filter((line) => line.includes(`held by`));
    expect(live.length).toBeGreaterThan(0);
    for (const line of live) expect(line).toContain(` pid ${pid}`);
    expect(
      progress.some((line) => /running c[12] llamacpp \/ synthetic:tiny \/ batch=[12]/.test(line)),
    ).toBe(true);
    expect(progress.some((line) => /; ETA (\d|unknown)/.test(line))).toBe(true);
  }, 120_000);

  it("on a finished study prints its state once and exits 0; more than one dir is a usage error", async () => {
    const dir = await tempDir();
    const file = await writeText(dir, "study.yaml", tinyStudyYaml({ batchSizes: [1] }));
    const resultsDir = join(dir, "results");
    const ran = await runCli(["run", file, "--results-dir", resultsDir], {
      env: workerFault("fake"),
    });
    expect(ran.code, ran.stderr).toBe(0);
    const [name] = await readdir(resultsDir);
    const studyDir = join(resultsDir, name as string);
    const watched = await runCli(["status", "--watch", studyDir], { timeoutMs: 30_000 });
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toMatch(
      /tiny: 1\/1 done \(1 completed, 0 failed, 0 left\); not running \(completed\)\nstudy completed\n$/,
    );
    expectCleanFailure(
      await runCli(["status", "--watch", studyDir, studyDir]),
      2,
      /--watch follows one study dir/,
    );
  }, 60_000);
});
