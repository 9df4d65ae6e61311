/**
 * What a killed runner leaves behind, with real processes: the experiment's own children (a
 * stand-in for a server the engine started: the fault worker's `hang` mode starts `sleep 1000`
 * and ignores SIGTERM), and what `--resume` does about a group whose leader was killed too.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { exited, isProcessAlive, waitFor } from "@llem/test-utils";
import { describe, expect, it, onTestFinished } from "vitest";
import { runStudy } from "../src/run-study.js";
import { LEFTOVERS_FILE_NAME } from "../src/runner/leftovers.js";
import { collect, loadStudy, studyFixture, workerEnv } from "./helpers.js";

const script = fileURLToPath(new URL("./fixtures/run-study.mjs", import.meta.url));

/** Starts the runner fixture with a hanging experiment; resolves once its grandchild runs. */
async function runnerWithHangingExperiment() {
  const fixture = await studyFixture("sweep: {llamacpp.batch_size: [1]}\n");
  const runner = spawn(process.execPath, [script, fixture.file, fixture.resultsDir], {
    env: workerEnv(fixture, { LLEM_TEST_WORKER_FAULT: "hang" }),
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  runner.stdout.on("data", (chunk) => {
    output += chunk;
  });
  const studyDir = await waitFor(
    () => (output.includes("\n") ? (JSON.parse(output.split("\n")[0]!).studyDir as string) : ""),
    { timeoutMs: 30_000, what: "study_started" },
  );
  const experimentDir = await waitFor(
    () => {
      const names = existsSync(join(studyDir, "experiments"))
        ? readdirSync(join(studyDir, "experiments"))
        : [];
      const dir = names[0] && join(studyDir, "experiments", names[0]);
      return dir && existsSync(join(dir, "grandchild.pid")) ? dir : "";
    },
    { timeoutMs: 30_000, what: "the experiment's grandchild" },
  );
  const grandchild = Number(readFileSync(join(experimentDir, "grandchild.pid"), "utf8"));
  // Whatever the test finds, nothing it started outlives it.
  onTestFinished(() => {
    for (const pid of [grandchild, runner.pid]) {
      if (pid !== undefined && isProcessAlive(pid)) process.kill(pid, "SIGKILL");
    }
  });
  return { fixture, runner, studyDir, experimentDir, grandchild };
}

describe("processes a killed runner leaves behind", { timeout: 90_000 }, () => {
  it("a runner SIGKILLed: the experiment process takes its children down with it", async () => {
    const { runner, grandchild } = await runnerWithHangingExperiment();
    expect(isProcessAlive(grandchild)).toBe(true);
    runner.kill("SIGKILL");
    await exited(runner);
    // The experiment process notices its parent is gone; 5 s later its whole group is gone.
    await waitFor(() => !isProcessAlive(grandchild), {
      timeoutMs: 30_000,
      what: `grandchild ${grandchild} to die`,
    });
  });

  it("the run records its process group; --resume stops what a dead run left running first", async () => {
    const { fixture, runner, studyDir, experimentDir, grandchild } =
      await runnerWithHangingExperiment();
    const record = JSON.parse(readFileSync(join(experimentDir, LEFTOVERS_FILE_NAME), "utf8"));
    expect(record).toMatchObject({ schema_version: 1, started: [{ kind: "process_group" }] });
    const worker = record.started[0].pgid as number;
    expect(isProcessAlive(worker)).toBe(true);
    // Runner and experiment process both die at once (the OOM killer, a node crash): nothing
    // is left to clean up the experiment's children.
    runner.kill("SIGKILL");
    process.kill(worker, "SIGKILL");
    await exited(runner);
    await waitFor(() => !isProcessAlive(worker), { what: "the experiment process to die" });
    expect(isProcessAlive(grandchild)).toBe(true);

    const loaded = await loadStudy(fixture.file);
    const { events, onEvent } = collect();
    const outcome = await runStudy(loaded, {
      resultsDir: fixture.resultsDir,
      resumeDir: studyDir,
      onEvent,
      env: workerEnv(fixture, { LLEM_TEST_WORKER_FAULT: "fake" }),
    });
    expect(outcome.status).toBe("completed");
    const stopped = events.find((event) => event.type === "leftovers_stopped");
    expect(stopped).toMatchObject({ processes: 1, experimentDirs: [experimentDir] });
    expect(events.findIndex((event) => event.type === "leftovers_stopped")).toBeLessThan(
      events.findIndex((event) => event.type === "run_started"),
    );
    expect(isProcessAlive(grandchild)).toBe(false);
    expect(existsSync(join(experimentDir, LEFTOVERS_FILE_NAME))).toBe(false);
  });
});
