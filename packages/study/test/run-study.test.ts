import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readManifest } from "@llem/manifest";
import { ExperimentResult, LlemError, StudyResult } from "@llem/schema";
import { isProcessAlive, waitFor } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { runStudy } from "../src/run-study.js";
import { findResumableStudy, readStudyResults, readStudyStatus } from "../src/status.js";
import { collect, loadStudy, studyFixture, workerEnv } from "./helpers.js";

const fake = { LLEM_TEST_WORKER_FAULT: "fake" };

async function startedRuns(log: string): Promise<string[]> {
  const text = await readFile(log, "utf8").catch(() => "");
  return text.split("\n").filter(Boolean);
}

async function waitDead(pid: number): Promise<boolean> {
  await waitFor(() => !isProcessAlive(pid), { timeoutMs: 5000, what: `pid ${pid} to exit` });
  return true;
}

describe("runStudy (real child processes, fake engine)", { timeout: 60_000 }, () => {
  it("runs every run isolated, writes results, manifest, summary and study.yaml", async () => {
    const fixture = await studyFixture(`
sweep: {llamacpp.batch_size: [1, 2]}
study_execution: {n_cycles: 3, experiment_order: interleave, experiment_gap_seconds: 0.05, cycle_gap_seconds: 0.05}
`);
    const loaded = await loadStudy(fixture.file);
    const { events, onEvent } = collect();
    const outcome = await runStudy(loaded, {
      resultsDir: fixture.resultsDir,
      onEvent,
      env: workerEnv(fixture, fake),
    });
    expect(outcome.status).toBe("completed");
    expect(outcome.studyDir).toMatch(/results\/fixture_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d$/);
    expect(outcome.counts).toEqual({ total: 6, completed: 6, failed: 0, pending: 0, running: 0 });

    const manifest = await readManifest(outcome.studyDir);
    expect(manifest.status).toBe("completed");
    expect(manifest.study_yaml_hash).toBe(loaded.yamlHash);
    expect(manifest.experiments.every((entry) => entry.status === "completed")).toBe(true);
    for (const entry of manifest.experiments) {
      const result = ExperimentResult.parse(
        JSON.parse(await readFile(join(outcome.studyDir, entry.result_file!), "utf8")),
      );
      expect(result.config_hash).toBe(entry.config_hash);
      expect(entry.result_file).toMatch(
        new RegExp(
          `^experiments/000[12]_c${entry.cycle}_synthetic-tiny-llamacpp_${entry.config_hash.slice(0, 8)}/result\\.json$`,
        ),
      );
    }
    expect(await readFile(join(outcome.studyDir, "study.yaml"))).toEqual(
      Buffer.from(loaded.yamlBytes),
    );

    const summary = StudyResult.parse(JSON.parse(await readFile(outcome.summaryFile, "utf8")));
    expect(summary.status).toBe("completed");
    expect(summary.counts).toMatchObject({
      unique_configs: 2,
      total_runs: 6,
      completed: 6,
      failed: 0,
      pending: 0,
    });
    // Fake results: tok/s = 100 + cycle, J/token = 0.01 × cycle, TTFT p50 = 10 × cycle, ITL p50 = cycle.
    for (const config of summary.configs) {
      expect(config.cycles_completed).toBe(3);
      expect(config.metrics.output_tokens_per_s).toMatchObject({
        n: 3,
        mean: 102,
        min: 101,
        max: 103,
      });
      expect(config.metrics.output_tokens_per_s!.stddev).toBeCloseTo(1, 12);
      expect(config.metrics.energy_per_output_token_j!.mean).toBeCloseTo(0.02, 12);
      expect(config.metrics.energy_per_output_token_j!.stddev).toBeCloseTo(0.01, 12);
      expect(config.metrics.ttft_p50_ms).toMatchObject({ mean: 20, min: 10, max: 30 });
      expect(config.metrics.itl_p50_ms).toMatchObject({ mean: 2, min: 1, max: 3 });
      expect(config.energy_method).toBe("estimated");
    }
    expect(summary.total_energy_j).toBeCloseTo(2 * (1 + 2 + 3), 9);
    expect(await readStudyResults(outcome.studyDir)).toEqual(summary.configs);

    const types = events.map((event) => event.type);
    expect(types[0]).toBe("study_started");
    expect(types.at(-1)).toBe("study_finished");
    expect(types.filter((type) => type === "run_finished")).toHaveLength(6);
    const gaps = events.filter((event) => event.type === "gap");
    expect(gaps.filter((event) => event.reason === "experiment")).toHaveLength(5);
    expect(gaps.filter((event) => event.reason === "cycle")).toHaveLength(2);
    const order = events.flatMap((event) =>
      event.type === "run_started" ? [`${event.configHash}:${event.cycle}`] : [],
    );
    expect(order).toEqual(loaded.runs.map((run) => `${run.configHash}:${run.cycle}`));
    expect(await startedRuns(fixture.log)).toHaveLength(6);
  });

  it("a timeout kills the whole process group (TimeoutError); crashes become ProcessCrash", async () => {
    const fixture = await studyFixture(`
sweep: {llamacpp.batch_size: [1, 2, 3, 4]}
study_execution: {experiment_timeout_seconds: 1.5, max_consecutive_failures: 0}
`);
    const loaded = await loadStudy(fixture.file);
    const [hang, crash, exit3, error] = loaded.configs.map((entry) => entry.configHash);
    const faultRun = async (fault: string, hash: string) =>
      runStudy(loaded, {
        resultsDir: fixture.resultsDir,
        env: workerEnv(fixture, {
          LLEM_TEST_WORKER_FAULT: fault,
          LLEM_TEST_WORKER_FAULT_ONLY: hash!,
          LLEM_TEST_WORKER_OTHERWISE: "fake",
        }),
      });
    const hung = await faultRun("hang", hang!);
    expect(hung.status).toBe("partial");
    const manifest = await readManifest(hung.studyDir);
    const timedOut = manifest.experiments.find((entry) => entry.config_hash === hang)!;
    expect(timedOut).toMatchObject({ status: "failed", error_type: "TimeoutError" });
    expect(timedOut.error_message).toContain("1.5 s");
    const dir = join(
      hung.studyDir,
      "experiments",
      (await import("../src/study-dir.js")).experimentDirName(
        0,
        1,
        loaded.configs[0]!.config,
        hang!,
      ),
    );
    const grandchild = Number(await readFile(join(dir, "grandchild.pid"), "utf8"));
    expect(grandchild).toBeGreaterThan(0);
    expect(await waitDead(grandchild)).toBe(true);
    expect(hung.summary.failures).toEqual([
      expect.objectContaining({ config_hash: hang, cycle: 1, error_type: "TimeoutError" }),
    ]);

    const crashed = await faultRun("crash", crash!);
    const crashEntry = (await readManifest(crashed.studyDir)).experiments.find(
      (entry) => entry.config_hash === crash,
    )!;
    expect(crashEntry).toMatchObject({ status: "failed", error_type: "ProcessCrash" });
    expect(crashEntry.error_message).toContain("SIGKILL");

    const exited = await faultRun("exit3", exit3!);
    const exitEntry = (await readManifest(exited.studyDir)).experiments.find(
      (entry) => entry.config_hash === exit3,
    )!;
    expect(exitEntry).toMatchObject({ status: "failed", error_type: "ProcessCrash" });
    expect(exitEntry.error_message).toContain("exited with code 3");

    const thrown = await faultRun("error", error!);
    const errorEntry = (await readManifest(thrown.studyDir)).experiments.find(
      (entry) => entry.config_hash === error,
    )!;
    expect(errorEntry).toMatchObject({ status: "failed", error_type: "EXPERIMENT_FAILED" });
    expect(errorEntry.error_message).toContain("injected failure");
    // The other runs of each study completed.
    expect(thrown.counts).toMatchObject({ completed: 3, failed: 1 });
  });

  it("circuit breaker: opens after N failures, probes once, then stops with the rest pending", async () => {
    const fixture = await studyFixture(`
sweep: {llamacpp.batch_size: [1, 2, 3, 4, 5, 6]}
study_execution: {max_consecutive_failures: 2, circuit_breaker_cooldown_seconds: 0.1}
`);
    const loaded = await loadStudy(fixture.file);
    const { events, onEvent } = collect();
    const outcome = await runStudy(loaded, {
      resultsDir: fixture.resultsDir,
      onEvent,
      env: workerEnv(fixture, { LLEM_TEST_WORKER_FAULT: "exit3" }),
    });
    expect(outcome.status).toBe("failed");
    expect(outcome.counts).toMatchObject({ failed: 3, pending: 3, completed: 0 });
    expect(events.filter((event) => event.type === "circuit_open")).toEqual([
      expect.objectContaining({ consecutiveFailures: 2, cooldownSeconds: 0.1 }),
    ]);
    expect(events.some((event) => event.type === "circuit_stopped")).toBe(true);
    expect(await startedRuns(fixture.log)).toHaveLength(3);
    // The probe succeeding closes the breaker: first two fail, the rest run.
    const [first, second] = loaded.configs.map((entry) => entry.configHash);
    const recovered = await runStudy(loaded, {
      resultsDir: fixture.resultsDir,
      env: workerEnv(fixture, {
        LLEM_TEST_WORKER_FAULT: "exit3",
        LLEM_TEST_WORKER_FAULT_ONLY: `${first},${second}`,
        LLEM_TEST_WORKER_OTHERWISE: "fake",
      }),
    });
    expect(recovered.counts).toMatchObject({ failed: 2, completed: 4, pending: 0 });
    expect(recovered.status).toBe("partial");
  });

  it("a wall-clock deadline stops starting runs and leaves the rest pending", async () => {
    const fixture = await studyFixture(`
sweep: {llamacpp.batch_size: [1, 2, 3, 4]}
study_execution: {wall_clock_timeout_hours: 0.0001}
`);
    const loaded = await loadStudy(fixture.file);
    const { events, onEvent } = collect();
    const outcome = await runStudy(loaded, {
      resultsDir: fixture.resultsDir,
      onEvent,
      env: workerEnv(fixture, { ...fake, LLEM_TEST_WORKER_DELAY_MS: "500" }),
    });
    expect(events.some((event) => event.type === "deadline_reached")).toBe(true);
    expect(outcome.status).toBe("partial");
    expect(outcome.counts.pending).toBeGreaterThan(0);
    expect(outcome.counts.completed).toBeGreaterThan(0);
    expect(await findResumableStudy(fixture.file, fixture.resultsDir)).toBe(outcome.studyDir);
  });

  it("interrupt once: SIGTERM to the group, clean stop, the run goes back to pending; resume finishes without re-running completed runs", async () => {
    const fixture = await studyFixture(`
sweep: {llamacpp.batch_size: [1, 2, 3]}
study_execution: {n_cycles: 2}
`);
    const loaded = await loadStudy(fixture.file);
    const controller = new AbortController();
    let finished = 0;
    const outcome = await runStudy(loaded, {
      resultsDir: fixture.resultsDir,
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === "run_finished") finished++;
        if (event.type === "run_started" && finished === 2)
          setTimeout(() => controller.abort(), 300);
      },
      env: workerEnv(fixture, { ...fake, LLEM_TEST_WORKER_DELAY_MS: "200" }),
    });
    expect(outcome.status).toBe("interrupted");
    const manifest = await readManifest(outcome.studyDir);
    expect(manifest.status).toBe("interrupted");
    expect(manifest.experiments.filter((entry) => entry.status === "completed")).toHaveLength(2);
    expect(manifest.experiments.filter((entry) => entry.status === "running")).toHaveLength(0);
    const summary = StudyResult.parse(JSON.parse(await readFile(outcome.summaryFile, "utf8")));
    expect(summary.status).toBe("interrupted");
    expect(summary.counts).toMatchObject({ completed: 2, pending: 4 });
    const status = await readStudyStatus(outcome.studyDir);
    expect(status.counts).toMatchObject({ completed: 2, pending: 4, total: 6 });
    expect(status.lockHolder).toBeNull();
    expect(status.meanRunSeconds).toBeGreaterThan(0);
    expect(status.etaSeconds).toBeCloseTo(4 * status.meanRunSeconds!, 9);

    const completedBefore = manifest.experiments
      .filter((entry) => entry.status === "completed")
      .map((entry) => `${entry.config_hash} ${entry.cycle}`);
    const startsBefore = (await startedRuns(fixture.log)).length;
    expect(await findResumableStudy(fixture.file, fixture.resultsDir)).toBe(outcome.studyDir);
    const resumed = await runStudy(loaded, {
      resumeDir: outcome.studyDir,
      env: workerEnv(fixture, fake),
    });
    expect(resumed.status).toBe("completed");
    const after = (await startedRuns(fixture.log)).slice(startsBefore);
    expect(after).toHaveLength(4);
    for (const run of completedBefore) expect(after).not.toContain(run);
    expect(await findResumableStudy(fixture.file, fixture.resultsDir)).toBeUndefined();
  });

  it("interrupt twice: a run that ignores SIGTERM is SIGKILLed", async () => {
    const fixture = await studyFixture(`
sweep: {llamacpp.batch_size: [1, 2]}
study_execution: {experiment_timeout_seconds: 120}
`);
    const loaded = await loadStudy(fixture.file);
    const first = new AbortController();
    const second = new AbortController();
    let studyDir = "";
    let grandchildFile = "";
    const outcome = await runStudy(loaded, {
      resultsDir: fixture.resultsDir,
      signal: first.signal,
      forceKill: second.signal,
      onEvent: (event) => {
        if (event.type === "study_started") studyDir = event.studyDir;
        if (event.type === "run_started") {
          void (async () => {
            // Once the stuck engine is up (its grandchild started), interrupt, then force.
            const pidFile = await waitFor(
              async () => {
                const names = await readdir(join(studyDir, "experiments")).catch(() => []);
                const file = names[0] && join(studyDir, "experiments", names[0], "grandchild.pid");
                return file && existsSync(file) ? file : undefined;
              },
              { what: "grandchild.pid" },
            );
            grandchildFile = pidFile;
            first.abort();
            await new Promise((done) => setTimeout(done, 500));
            second.abort();
          })();
        }
      },
      env: workerEnv(fixture, { LLEM_TEST_WORKER_FAULT: "hang" }),
    });
    expect(outcome.status).toBe("interrupted");
    const manifest = await readManifest(outcome.studyDir);
    expect(manifest.experiments.map((entry) => entry.status)).toEqual(["pending", "pending"]);
    const grandchild = Number(await readFile(grandchildFile, "utf8"));
    expect(await waitDead(grandchild)).toBe(true);
  });

  it("resume re-runs failed runs only; drift needs consent; changing n_cycles tops the study up", async () => {
    const fixture = await studyFixture(`
sweep: {llamacpp.batch_size: [1, 2]}
study_execution: {n_cycles: 2, max_consecutive_failures: 0}
`);
    const loaded = await loadStudy(fixture.file);
    const target = `${loaded.configs[1]!.configHash}:2`;
    const first = await runStudy(loaded, {
      resultsDir: fixture.resultsDir,
      env: workerEnv(fixture, {
        LLEM_TEST_WORKER_FAULT: "crash",
        LLEM_TEST_WORKER_FAULT_ONLY: target,
        LLEM_TEST_WORKER_OTHERWISE: "fake",
      }),
    });
    expect(first.status).toBe("partial");
    expect((await readManifest(first.studyDir)).status).toBe("partial");
    const startsBefore = (await startedRuns(fixture.log)).length;
    const second = await runStudy(loaded, {
      resumeDir: first.studyDir,
      env: workerEnv(fixture, fake),
    });
    expect(second.status).toBe("completed");
    expect((await startedRuns(fixture.log)).slice(startsBefore)).toEqual([
      target.replace(":", " "),
    ]);
    const entry = (await readManifest(first.studyDir)).experiments.find(
      (item) => `${item.config_hash}:${item.cycle}` === target,
    )!;
    expect(entry.attempts).toBe(2);

    // Drift: the file changed (only n_cycles). Without consent → STUDY_DRIFT; with it → top-up.
    await writeFile(
      fixture.file,
      (await readFile(fixture.file, "utf8")).replace("n_cycles: 2", "n_cycles: 3"),
    );
    const grown = await loadStudy(fixture.file);
    const refused = await runStudy(grown, {
      resumeDir: first.studyDir,
      env: workerEnv(fixture, fake),
    }).catch((error: unknown) => error);
    expect(LlemError.hasCode(refused, "STUDY_DRIFT")).toBe(true);
    const declined = await runStudy(grown, {
      resumeDir: first.studyDir,
      onDrift: async () => false,
    }).catch((error: unknown) => error);
    expect(LlemError.hasCode(declined, "STUDY_DRIFT")).toBe(true);
    let seen: unknown;
    const startsBeforeTopUp = (await startedRuns(fixture.log)).length;
    const topped = await runStudy(grown, {
      resumeDir: first.studyDir,
      onDrift: async (info) => {
        seen = info;
        return true;
      },
      env: workerEnv(fixture, fake),
    });
    expect(seen).toEqual({
      recorded: loaded.yamlHash,
      current: grown.yamlHash,
      onlyCyclesChanged: true,
    });
    expect(topped.status).toBe("completed");
    expect(topped.counts).toMatchObject({ total: 6, completed: 6 });
    const newRuns = (await startedRuns(fixture.log)).slice(startsBeforeTopUp);
    expect(newRuns.sort()).toEqual(loaded.configs.map((config) => `${config.configHash} 3`).sort());
  });

  it("a second runner on a running study is refused naming the holder; status works meanwhile", async () => {
    const fixture = await studyFixture(`
sweep: {llamacpp.batch_size: [1, 2]}
`);
    const loaded = await loadStudy(fixture.file);
    let studyDir = "";
    let checked: Promise<void> | undefined;
    const outcome = await runStudy(loaded, {
      resultsDir: fixture.resultsDir,
      onEvent: (event) => {
        if (event.type === "study_started") studyDir = event.studyDir;
        if (event.type === "run_started" && !checked) {
          checked = (async () => {
            const status = await readStudyStatus(studyDir);
            expect(status.running).toHaveLength(1);
            expect(status.lockHolder?.pid).toBe(process.pid);
            const error = await runStudy(loaded, { resumeDir: studyDir }).catch(
              (caught: unknown) => caught,
            );
            expect(LlemError.hasCode(error, "MANIFEST_LOCKED")).toBe(true);
            expect((error as Error).message).toContain(`pid ${process.pid}`);
          })();
        }
      },
      env: workerEnv(fixture, { ...fake, LLEM_TEST_WORKER_DELAY_MS: "400" }),
    });
    await checked;
    expect(outcome.status).toBe("completed");
  });

  it("invalid combinations are kept in skipped_configs.json and the summary; a gap is interruptible", async () => {
    const fixture = await studyFixture(`
workload: {mode: concurrent}
sweep:
  llamacpp.batch_size: [1, 2]
  workload.concurrency: [1, 2]
study_execution: {experiment_gap_seconds: 600, experiment_timeout_seconds: 60}
`);
    const loaded = await loadStudy(fixture.file);
    expect(loaded.configs).toHaveLength(3);
    const controller = new AbortController();
    const outcome = await runStudy(loaded, {
      resultsDir: fixture.resultsDir,
      signal: controller.signal,
      // A 600 s gap follows the first run: the abort must end it at once (else the test times out).
      onEvent: (event) => {
        if (event.type === "run_finished") setTimeout(() => controller.abort(), 100);
      },
      env: workerEnv(fixture, fake),
    });
    expect(outcome.status).toBe("interrupted");
    expect(outcome.counts).toMatchObject({ completed: 1, pending: 2 });
    const skipped = JSON.parse(
      await readFile(join(outcome.studyDir, "skipped_configs.json"), "utf8"),
    );
    expect(skipped).toEqual([
      expect.objectContaining({
        summary: "llamacpp / synthetic:tiny / llamacpp.batch_size=1 / workload.concurrency=2",
        reason: expect.stringContaining("concurrency 2 exceeds llamacpp.batch_size 1"),
      }),
    ]);
    expect(outcome.summary.skipped).toEqual([
      { config_summary: skipped[0].summary, reason: skipped[0].reason },
    ]);
    expect(outcome.summary.counts.skipped_configs).toBe(1);
  });

  it("resume of a directory that is not a study is STUDY_NOT_FOUND", async () => {
    const fixture = await studyFixture("sweep: {llamacpp.batch_size: [1]}\n");
    const loaded = await loadStudy(fixture.file);
    const error = await runStudy(loaded, { resumeDir: fixture.dir }).catch(
      (caught: unknown) => caught,
    );
    expect(LlemError.hasCode(error, "STUDY_NOT_FOUND")).toBe(true);
    await expect(readStudyStatus(fixture.dir)).rejects.toMatchObject({ code: "STUDY_NOT_FOUND" });
  });
});
