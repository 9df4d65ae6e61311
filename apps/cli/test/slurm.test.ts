/**
 * `llem slurm … --submit` against a real SLURM: Debian's slurmctld, slurmd and munge started by
 * scripts/slurm-cluster.sh (one node on 127.0.0.1, state under a temp dir, stopped by pid). The
 * node has no GPUs, so tasks ask for none here (the --gres line is checked by content in
 * workers.test.ts). Needs root (munge and slurmd run as root): skipped with that reason otherwise.
 */
import { existsSync, readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { runProcess, tempDir, waitFor } from "@llem/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  onlyStudyDir,
  REPO,
  readStudyManifest,
  runCli,
  tinyStudyYaml,
  workerFault,
  writeText,
} from "./helpers.js";

const isRoot = process.getuid?.() === 0;
const CLUSTER = join(REPO, "scripts", "slurm-cluster.sh");

describe.skipIf(!isRoot)(
  `a real SLURM cluster${isRoot ? "" : " (skipped: not root — munge and slurmd need root)"}`,
  { timeout: 300_000 },
  () => {
    let state = "";
    let slurmEnv: NodeJS.ProcessEnv = {};

    beforeAll(async () => {
      state = await (await import("node:fs/promises")).mkdtemp("/tmp/llem-slurm-");
      const started = await runProcess("bash", [CLUSTER, "start", state], { timeoutMs: 280_000 });
      if (started.code !== 0) {
        throw new Error(
          `scripts/slurm-cluster.sh start failed: ${started.stderr}${started.stdout}`,
        );
      }
      slurmEnv = { SLURM_CONF: join(state, "slurm.conf") };
    }, 300_000);

    afterAll(async () => {
      if (state) await runProcess("bash", [CLUSTER, "stop", state], { timeoutMs: 60_000 });
    });

    async function slurm(command: string, args: string[]) {
      return runProcess(command, args, { env: { ...process.env, ...slurmEnv }, timeoutMs: 30_000 });
    }

    /** Waits until no task of `jobId` is queued or running. */
    async function jobGone(jobId: string, timeoutMs = 240_000): Promise<void> {
      await waitFor(
        async () => {
          const queue = await slurm("squeue", ["-h", "-j", jobId, "-o", "%i %T"]);
          return queue.code === 0 && queue.stdout.trim() === "";
        },
        { timeoutMs, intervalMs: 500, what: `job ${jobId} to leave the queue` },
      );
    }

    it("--array 3 --submit of a small synthetic:tiny study completes", async () => {
      const dir = await tempDir();
      const file = await writeText(dir, "study.yaml", tinyStudyYaml({ cycles: 2 }));
      const resultsDir = join(dir, "results");
      const submitted = await runCli(
        ["slurm", file, "--array", "3", "--submit", "--results-dir", resultsDir, "--json"],
        { env: slurmEnv },
      );
      expect(submitted.code, submitted.stderr).toBe(0);
      const plan = JSON.parse(submitted.stdout) as { job_id: string; study_dir: string };
      expect(plan.job_id).toMatch(/^\d+$/);
      await jobGone(plan.job_id);

      const studyDir = await onlyStudyDir(resultsDir);
      const manifest = await readStudyManifest(studyDir);
      expect(manifest.experiments).toHaveLength(4);
      expect(manifest.experiments.every((entry) => entry.status === "completed")).toBe(true);
      expect(manifest.experiments.every((entry) => entry.attempts === 1)).toBe(true);
      // Real llama.cpp work on the synthetic model, each result where the manifest says.
      for (const entry of manifest.experiments) {
        const result = JSON.parse(readFileSync(join(studyDir, entry.result_file!), "utf8"));
        expect(result.engine).toBe("llamacpp");
        expect(result.tokens.output).toBeGreaterThan(0);
      }
      const summary = JSON.parse(await readFile(join(studyDir, "study_summary.json"), "utf8"));
      expect(summary).toMatchObject({ status: "completed", counts: { completed: 4 } });
      // One log per task, and each task joined as a worker named by its SLURM task.
      const logs = (await readdir(join(studyDir, "slurm", "logs"))).sort();
      expect(logs).toEqual([0, 1, 2].map((task) => `${plan.job_id}_${task}.log`));
      const status = await runCli(["status", studyDir, "--json"]);
      const workers = (JSON.parse(status.stdout) as { workers: Array<{ slurm: string }> }).workers;
      expect(workers.map((worker) => worker.slurm).sort()).toEqual(
        [0, 1, 2].map((task) => `${plan.job_id}_${task}`),
      );
    });

    it("scancel of one task mid-run, then the array resubmitted: completes without re-running completed runs", async () => {
      const dir = await tempDir();
      const file = await writeText(
        dir,
        "study.yaml",
        tinyStudyYaml({ batchSizes: [1, 2, 3, 4, 5, 6] }),
      );
      const resultsDir = join(dir, "results");
      const log = join(dir, "starts.log");
      const env = {
        ...slurmEnv,
        ...workerFault("fake", { LLEM_TEST_WORKER_DELAY_MS: "4000", LLEM_TEST_WORKER_LOG: log }),
      };
      const first = await runCli(
        ["slurm", file, "--array", "2", "--submit", "--results-dir", resultsDir, "--json"],
        { env },
      );
      expect(first.code, first.stderr).toBe(0);
      const { job_id: jobId, study_dir: studyDir } = JSON.parse(first.stdout) as {
        job_id: string;
        study_dir: string;
      };
      const startLines = async () =>
        existsSync(log) ? (await readFile(log, "utf8")).split("\n").filter(Boolean) : [];
      // Task 0 in the middle of a run: claimed, and its experiment started.
      const held = await waitFor(
        async () => {
          const entry = (await readStudyManifest(studyDir)).experiments.find(
            (e) =>
              e.status === "running" && e.lease?.worker.startsWith(`slurm-${jobId}_0@`) === true,
          );
          if (entry === undefined) return undefined;
          return (await startLines()).includes(`${entry.config_hash} ${entry.cycle}`)
            ? entry
            : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 200, what: "task 0 running a run" },
      );
      const cancelled = await slurm("scancel", [`${jobId}_0`]);
      expect(cancelled.code, cancelled.stderr).toBe(0);
      await waitFor(
        async () => {
          const queue = await slurm("squeue", ["-h", "-j", jobId, "-o", "%i"]);
          return !queue.stdout.split("\n").some((line) => line.trim() === `${jobId}_0`);
        },
        { timeoutMs: 60_000, intervalMs: 300, what: "task 0 to be gone" },
      );
      const before = await readStudyManifest(studyDir);
      const completedBefore = before.experiments
        .filter((entry) => entry.status === "completed")
        .map((entry) => `${entry.config_hash} ${entry.cycle}`);
      const startsBefore = await startLines();

      const again = await runCli(
        ["slurm", file, "--resume", studyDir, "--array", "2", "--submit", "--json"],
        { env },
      );
      expect(again.code, again.stderr).toBe(0);
      const second = JSON.parse(again.stdout) as { job_id: string; resumed: boolean };
      expect(second.resumed).toBe(true);
      await jobGone(jobId);
      await jobGone(second.job_id);

      const manifest = await readStudyManifest(studyDir);
      expect(manifest.experiments.every((entry) => entry.status === "completed")).toBe(true);
      const starts = await startLines();
      // Completed runs were never started again.
      for (const run of completedBefore) {
        expect(starts.filter((line) => line === run)).toHaveLength(1);
      }
      expect(starts.slice(startsBefore.length).some((line) => completedBefore.includes(line))).toBe(
        false,
      );
      // The cancelled task's run was re-run as a new attempt, in a directory of its own; its
      // first attempt left no result.
      const rerun = manifest.experiments.find(
        (entry) => entry.config_hash === held.config_hash && entry.cycle === held.cycle,
      )!;
      expect(rerun.attempts).toBe(2);
      expect(rerun.result_file).toMatch(/_a2\/result\.json$/);
      const firstAttempt = join(
        studyDir,
        rerun.result_file!.replace(/_a2\/result\.json$/, ""),
        "result.json",
      );
      expect(existsSync(firstAttempt)).toBe(false);
      const summary = JSON.parse(await readFile(join(studyDir, "study_summary.json"), "utf8"));
      expect(summary).toMatchObject({ status: "completed", counts: { completed: 6 } });
      const submissions = JSON.parse(
        await readFile(join(studyDir, "slurm", "submissions.json"), "utf8"),
      ) as Array<{ job_id: string }>;
      expect(submissions.map((submission) => submission.job_id)).toEqual([jobId, second.job_id]);
    });
  },
);
