import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readManifest } from "@llem/manifest";
import { exited, isProcessAlive, runProcess, waitFor } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { studyFixture, workerEnv } from "./helpers.js";

const script = fileURLToPath(new URL("./fixtures/run-study.mjs", import.meta.url));

describe("a runner SIGKILLed mid-study", { timeout: 90_000 }, () => {
  it("leaves a parseable manifest, its experiment process exits, resume completes without re-running completed runs", async () => {
    const fixture = await studyFixture(`
sweep: {llamacpp.batch_size: [1, 2, 3]}
study_execution: {n_cycles: 2}
`);
    const env = workerEnv(fixture, {
      LLEM_TEST_WORKER_FAULT: "fake",
      LLEM_TEST_WORKER_DELAY_MS: "700",
    });
    const runner = spawn(process.execPath, [script, fixture.file, fixture.resultsDir], {
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    runner.stdout.on("data", (chunk) => {
      output += chunk;
    });
    // Kill it while its third experiment runs.
    await waitFor(
      () => output.split("\n").filter((line) => line.includes('"run_started"')).length >= 3,
      {
        timeoutMs: 30_000,
        what: "third run_started",
      },
    );
    const studyDir = JSON.parse(output.split("\n")[0]!).studyDir as string;
    const workerPids = async () =>
      (await readFile(fixture.log, "utf8")).split("\n").filter(Boolean).length;
    await waitFor(async () => (await workerPids()) >= 3, { what: "third worker start" });
    const psBefore = await runProcess("pgrep", ["-f", "study/dist/worker.js"]);
    const orphans = psBefore.stdout
      .split("\n")
      .filter(Boolean)
      .map(Number)
      .filter((pid) => {
        // Only this test's workers (other suites may run workers at the same time).
        try {
          return readFileSync(`/proc/${pid}/environ`, "utf8").includes(fixture.log);
        } catch {
          return false;
        }
      });
    runner.kill("SIGKILL");
    await exited(runner);

    const manifest = await readManifest(studyDir);
    expect(manifest.experiments).toHaveLength(6);
    const completedBefore = manifest.experiments
      .filter((entry) => entry.status === "completed")
      .map((entry) => `${entry.config_hash} ${entry.cycle}`);
    expect(completedBefore.length).toBeGreaterThanOrEqual(2);
    // The orphaned experiment process notices its parent is gone and exits.
    expect(orphans.length).toBeGreaterThanOrEqual(1);
    for (const pid of orphans) {
      await waitFor(() => !isProcessAlive(pid), {
        timeoutMs: 10_000,
        what: `worker ${pid} to exit`,
      });
    }

    const startsBefore = await workerPids();
    const resumed = await runProcess(
      process.execPath,
      [script, fixture.file, fixture.resultsDir, studyDir],
      {
        env: { ...env, LLEM_TEST_WORKER_DELAY_MS: "0" },
        timeoutMs: 60_000,
      },
    );
    expect(resumed.stdout).toContain('"status":"completed"');
    const after = (await readFile(fixture.log, "utf8"))
      .split("\n")
      .filter(Boolean)
      .slice(startsBefore);
    expect(after).toHaveLength(6 - completedBefore.length);
    for (const run of completedBefore) expect(after).not.toContain(run);
    const final = await readManifest(studyDir);
    expect(final.experiments.every((entry) => entry.status === "completed")).toBe(true);
    const summary = JSON.parse(await readFile(join(studyDir, "study_summary.json"), "utf8"));
    expect(summary.status).toBe("completed");
    expect(summary.counts.completed).toBe(6);
  });
});
