import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { exited, tempDir, waitFor } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import {
  expectCleanFailure,
  onlyStudyDir,
  readStudyManifest,
  runCli,
  startCli,
  tinyStudyYaml,
  workerFault,
  writeText,
} from "./helpers.js";

describe("resume after an edit that changed no experiment", () => {
  it("a comment-only edit is reported as such, not as a change of n_cycles", async () => {
    const dir = await tempDir();
    const yaml = tinyStudyYaml({ batchSizes: [1, 2], cycles: 1 });
    const file = await writeText(dir, "study.yaml", yaml);
    const resultsDir = join(dir, "results");
    const failing = await runCli(["run", file, "--results-dir", resultsDir], {
      env: workerFault("error"),
    });
    expect(failing.code, failing.stderr).toBe(1);
    const studyDir = await onlyStudyDir(resultsDir);

    await writeFile(file, `# measured on the lab machine\n${yaml}\n\n`);
    const refused = await runCli(["run", file, "--resume", studyDir], { env: workerFault("fake") });
    expectCleanFailure(refused, 2, /only in comments or formatting: no experiment changed.*--yes/s);
    expect(refused.stderr).not.toMatch(/n_cycles/);
    const accepted = await runCli(["run", file, "--resume", studyDir, "--yes"], {
      env: workerFault("fake"),
    });
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stderr).toMatch(/only in comments or formatting.*continuing \(--yes\)/s);
  }, 90_000);
});

describe("llem status of a study whose runner was killed", () => {
  it("says the holder is gone and its running run is re-run on resume, not 'running (by … pid N)'", async () => {
    const dir = await tempDir();
    const file = await writeText(dir, "study.yaml", tinyStudyYaml({ batchSizes: [1, 2] }));
    const resultsDir = join(dir, "results");
    const live = startCli(["run", file, "--results-dir", resultsDir, "--json"], {
      env: workerFault("fake", { LLEM_TEST_WORKER_DELAY_MS: "30000" }),
    });
    await waitFor(() => live.events().some((event) => event.type === "run_started"), {
      timeoutMs: 60_000,
      what: "the first run to start",
    });
    const studyDir = await onlyStudyDir(resultsDir);
    const during = await runCli(["status", studyDir]);
    expect(during.stdout).toMatch(new RegExp(`running \\(by \\S+ pid ${live.child.pid} since`));

    live.child.kill("SIGKILL");
    await exited(live.child);
    const after = await runCli(["status", studyDir]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).not.toMatch(/running \(by/);
    expect(after.stdout).toMatch(
      new RegExp(`not running: its runner \\(\\S+ pid ${live.child.pid}, since .*\\) is gone`),
    );
    expect(after.stdout).toMatch(/Marked running \(interrupted; re-run on resume\):/);
    const json = JSON.parse((await runCli(["status", studyDir, "--json"])).stdout) as {
      lock_holder: { pid: number; alive: boolean | null };
    };
    expect(json.lock_holder).toMatchObject({ pid: live.child.pid, alive: false });
    const manifest = await readStudyManifest(studyDir);
    expect(manifest.experiments.some((entry) => entry.status === "running")).toBe(true);
  }, 120_000);
});
