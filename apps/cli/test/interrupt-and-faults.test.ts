import { existsSync, readFileSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isProcessAlive, tempDir, waitFor } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import {
  expectCleanFailure,
  expectNoStackTrace,
  onlyStudyDir,
  plannedRuns,
  readJson,
  readStudyManifest,
  runCli,
  startCli,
  tinyStudyYaml,
  workerFault,
  writeText,
} from "./helpers.js";

async function studyFile(dir: string, options: Parameters<typeof tinyStudyYaml>[0] = {}) {
  return writeText(dir, "study.yaml", tinyStudyYaml({ batchSizes: [1, 2, 3], ...options }));
}

describe("interrupts", () => {
  it("SIGINT once stops cleanly: exit 130, nothing marked completed that did not finish, resume completes", async () => {
    const dir = await tempDir();
    const file = await studyFile(dir);
    const resultsDir = join(dir, "results");
    const live = startCli(["run", file, "--json", "--results-dir", resultsDir], {
      env: workerFault("fake", { LLEM_TEST_WORKER_DELAY_MS: "30000" }),
    });
    await waitFor(() => live.events().some((event) => event.type === "run_started"), {
      timeoutMs: 30_000,
      what: "the first run to start",
    });
    live.child.kill("SIGINT");
    const outcome = await live.exited;
    expect(outcome.code, outcome.stderr).toBe(130);
    expect(live.events().map((event) => event.type)).toContain("interrupted");
    expectNoStackTrace(outcome.stderr);
    const studyDir = await onlyStudyDir(resultsDir);
    const manifest = await readStudyManifest(studyDir);
    expect(manifest.experiments.filter((entry) => entry.status === "completed")).toHaveLength(0);
    const summary = await readJson<{ status: string }>(join(studyDir, "study_summary.json"));
    expect(summary.status).toBe("interrupted");

    const resumed = await runCli(["run", file, "--resume", "--results-dir", resultsDir], {
      env: workerFault("fake"),
    });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`Resuming ${studyDir}: 3 of 3 runs to go`);
    const after = await readStudyManifest(studyDir);
    expect(after.experiments.map((entry) => entry.status)).toEqual([
      "completed",
      "completed",
      "completed",
    ]);
  }, 90_000);

  it("SIGINT twice kills an experiment that ignores SIGTERM, with its whole process group: exit 130", async () => {
    const dir = await tempDir();
    const file = await studyFile(dir);
    const resultsDir = join(dir, "results");
    const live = startCli(["run", file, "--results-dir", resultsDir], { env: workerFault("hang") });
    const pidFile = await waitFor(
      async () => {
        const names = existsSync(resultsDir) ? await readdir(resultsDir) : [];
        if (names.length === 0) return undefined;
        const studyDir = join(resultsDir, names[0] as string);
        const manifest = await readStudyManifest(studyDir).catch(() => undefined);
        const running = manifest?.experiments.find((entry) => entry.status === "running");
        if (!running) return undefined;
        for (const name of await readdir(join(studyDir, "experiments")).catch(() => [])) {
          const candidate = join(studyDir, "experiments", name, "grandchild.pid");
          if (existsSync(candidate)) return candidate;
        }
        return undefined;
      },
      { timeoutMs: 30_000, what: "the hanging experiment" },
    );
    const grandchild = Number(readFileSync(pidFile, "utf8"));
    expect(isProcessAlive(grandchild)).toBe(true);
    live.child.kill("SIGINT");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(live.child.exitCode).toBeNull(); // the experiment ignores SIGTERM: still stopping
    live.child.kill("SIGINT");
    const outcome = await live.exited;
    expect(outcome.code, outcome.stderr).toBe(130);
    expect(outcome.stderr).toMatch(/stopping the current experiment cleanly/);
    expect(outcome.stderr).toMatch(/killing the current experiment/);
    await waitFor(() => !isProcessAlive(grandchild), {
      timeoutMs: 10_000,
      what: "the grandchild to die",
    });
    const manifest = await readStudyManifest(await onlyStudyDir(resultsDir));
    expect(manifest.experiments.filter((entry) => entry.status === "completed")).toHaveLength(0);
  }, 90_000);

  it("a second runner on a running study exits 1 naming the holder; SIGTERM stops the first", async () => {
    const dir = await tempDir();
    const file = await studyFile(dir);
    const resultsDir = join(dir, "results");
    const first = startCli(["run", file, "--json", "--results-dir", resultsDir], {
      env: workerFault("fake", { LLEM_TEST_WORKER_DELAY_MS: "30000" }),
    });
    await waitFor(() => first.events().some((event) => event.type === "run_started"), {
      timeoutMs: 30_000,
      what: "the first run to start",
    });
    const studyDir = await onlyStudyDir(resultsDir);
    const second = await runCli(["run", file, "--resume", studyDir], { env: workerFault("fake") });
    expectCleanFailure(second, 1, new RegExp(`pid ${first.child.pid}`));
    // The status command works meanwhile, lock-free, and names the holder too.
    const status = await runCli(["status", studyDir]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`running \\(by .+ pid ${first.child.pid} since `));
    expect(status.stdout).toMatch(/Running:\n {2}c1 {2}llamacpp \/ synthetic:tiny \/ batch=1/);
    first.child.kill("SIGTERM");
    expect((await first.exited).code).toBe(130);
  }, 90_000);
});

describe("study.yaml drift on resume (not a TTY)", () => {
  it("refuses without --yes (exit 2, nothing changed) and tops up the cycles with --yes", async () => {
    const dir = await tempDir();
    const file = await studyFile(dir, { batchSizes: [1, 2], cycles: 1 });
    const resultsDir = join(dir, "results");
    const failing = await runCli(["run", file, "--results-dir", resultsDir], {
      env: workerFault("error"),
    });
    expect(failing.code, failing.stderr).toBe(1);
    const studyDir = await onlyStudyDir(resultsDir);
    const manifestBytes = await readFile(join(studyDir, "study_manifest.json"));

    await writeFile(
      file,
      tinyStudyYaml({ batchSizes: [1, 2], cycles: 1 }).replace(
        "max_output_tokens: 4",
        "max_output_tokens: 5",
      ),
    );
    const refused = await runCli(["run", file, "--resume", studyDir], { env: workerFault("fake") });
    expectCleanFailure(refused, 2, /changed since the study started.*--yes/s);
    expect(await readFile(join(studyDir, "study_manifest.json"))).toEqual(manifestBytes);

    await writeFile(file, tinyStudyYaml({ batchSizes: [1, 2], cycles: 2 }));
    const refusedAgain = await runCli(["run", file, "--resume", studyDir], {
      env: workerFault("fake"),
    });
    expectCleanFailure(refusedAgain, 2, /only in n_cycles.*--yes/s);
    const accepted = await runCli(["run", file, "--resume", studyDir, "--yes"], {
      env: workerFault("fake"),
    });
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stderr).toMatch(/continuing \(--yes\)/);
    const manifest = await readStudyManifest(studyDir);
    expect(manifest.experiments).toHaveLength(4);
    expect(manifest.experiments.every((entry) => entry.status === "completed")).toBe(true);
  }, 90_000);
});

describe("failing experiments", () => {
  it("a crashing experiment is failed with the crash, the others complete: exit 1, shown by status", async () => {
    const dir = await tempDir();
    const file = await studyFile(dir);
    const runs = await plannedRuns(file);
    const target = runs[1]!;
    const resultsDir = join(dir, "results");
    const outcome = await runCli(["run", file, "--results-dir", resultsDir], {
      env: workerFault("crash", {
        LLEM_TEST_WORKER_FAULT_ONLY: `${target.config_hash}:${target.cycle}`,
        LLEM_TEST_WORKER_OTHERWISE: "fake",
      }),
    });
    expect(outcome.code, outcome.stderr).toBe(1);
    expect(outcome.stderr).toMatch(
      /^✗ \[2\/3\] c1 {2}llamacpp \/ synthetic:tiny \/ batch=2.* failed after .*: \w+: .*SIGKILL/m,
    );
    expect(outcome.stdout).toMatch(/Study partial: 2\/3 runs completed, 1 failed/);
    expect(outcome.stdout).toMatch(/Resume: +llem run .* --resume /);
    const studyDir = await onlyStudyDir(resultsDir);
    const manifest = await readStudyManifest(studyDir);
    const failed = manifest.experiments.filter((entry) => entry.status === "failed");
    expect(failed.map((entry) => entry.config_hash)).toEqual([target.config_hash]);
    expect(failed[0]?.error_message).toMatch(/SIGKILL/);
    const status = await runCli(["status", studyDir]);
    expect(status.stdout).toMatch(
      /Failures \(1\):\n {2}✗ c1 {2}llamacpp \/ synthetic:tiny \/ batch=2.*SIGKILL/,
    );
  }, 90_000);

  it("an experiment over its timeout is killed with its process group and failed: exit 1", async () => {
    const dir = await tempDir();
    const file = await studyFile(dir, { batchSizes: [1, 2], timeoutSeconds: 2 });
    const runs = await plannedRuns(file);
    const target = runs[0]!;
    const resultsDir = join(dir, "results");
    const outcome = await runCli(["run", file, "--results-dir", resultsDir], {
      env: workerFault("hang", {
        LLEM_TEST_WORKER_FAULT_ONLY: target.config_hash,
        LLEM_TEST_WORKER_OTHERWISE: "fake",
      }),
    });
    expect(outcome.code, outcome.stderr).toBe(1);
    const studyDir = await onlyStudyDir(resultsDir);
    const manifest = await readStudyManifest(studyDir);
    const failed = manifest.experiments.find((entry) => entry.config_hash === target.config_hash);
    expect(failed?.status).toBe("failed");
    expect(`${failed?.error_type} ${failed?.error_message}`).toMatch(/timeout|timed out/i);
    expect(manifest.experiments.filter((entry) => entry.status === "completed")).toHaveLength(1);
    for (const name of await readdir(join(studyDir, "experiments"))) {
      const pidFile = join(studyDir, "experiments", name, "grandchild.pid");
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, "utf8"));
        await waitFor(() => !isProcessAlive(pid), {
          timeoutMs: 10_000,
          what: "the grandchild to die",
        });
      }
    }
    // `llem run --resume DIR` alone finds the study's YAML and re-runs only the failed run.
    const resumed = await runCli(["run", "--resume", studyDir], { env: workerFault("fake") });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain("1 of 2 runs to go");
    const after = await readStudyManifest(studyDir);
    expect(after.experiments.every((entry) => entry.status === "completed")).toBe(true);
  }, 90_000);

  it("a results dir that cannot be created is one clear message (exit 1) and nothing is written", async () => {
    const dir = await tempDir();
    const file = await studyFile(dir);
    const blocker = await writeText(dir, "a-file", "not a directory");
    const outcome = await runCli(["run", file, "--results-dir", join(blocker, "results")], {
      env: workerFault("fake"),
    });
    expectCleanFailure(outcome, 1, /a-file/);
    expect(await readFile(blocker, "utf8")).toBe("not a directory");
  }, 60_000);

  it("a study naming an engine llem does not know is refused before it starts: exit 2, no study dir", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "multi.yaml",
      tinyStudyYaml({ batchSizes: [1] }).replace(
        "engine: llamacpp\nllamacpp:\n  threads: 1\n",
        "engine: vllmm\n",
      ),
    );
    const resultsDir = join(dir, "results");
    const outcome = await runCli(["run", file, "--results-dir", resultsDir], {
      env: workerFault("fake"),
    });
    expectCleanFailure(
      outcome,
      2,
      /engine: expected one of "llamacpp", "llama-server", "vllm", .*got "vllmm"/,
    );
    // Nothing was started: no study dir, so no "Resume:" hint for a study that never ran.
    expect(existsSync(resultsDir)).toBe(false);
    expect(outcome.stdout).not.toMatch(/Resume:/);
  }, 90_000);
});
