/**
 * Several workers on one study dir: `llem run --workers N` (placement of each worker's
 * experiments, every run once), `llem worker DIR` (bad input, a circuit breaker that stops one
 * worker and says so), `llem finalize`, and the sbatch script `llem slurm` writes. Real CLI
 * processes and the test-only fake experiment worker.
 */
import { existsSync, readFileSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir, waitFor } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import {
  expectCleanFailure,
  onlyStudyDir,
  plannedRuns,
  readStudyManifest,
  runCli,
  startCli,
  tinyStudyYaml,
  workerFault,
  writeText,
} from "./helpers.js";

interface Placement {
  config_hash: string;
  cycle: number;
  experiment_dir: string;
  cuda_visible_devices: string | null;
  cuda_device_order: string | null;
  cpus_allowed: string | null;
  gpu_devices: number[] | null;
}

async function lines(path: string): Promise<string[]> {
  if (!existsSync(path)) return [];
  return (await readFile(path, "utf8")).split("\n").filter(Boolean);
}

/** A finished 2-run study made by `llem run` (fake results). */
async function finishedStudy(dir: string): Promise<{ file: string; studyDir: string }> {
  const file = await writeText(dir, "study.yaml", tinyStudyYaml());
  const resultsDir = join(dir, "results");
  const done = await runCli(["run", file, "--results-dir", resultsDir], {
    env: workerFault("fake"),
  });
  expect(done.code, done.stderr).toBe(0);
  return { file, studyDir: await onlyStudyDir(resultsDir) };
}

describe("llem run --workers", { timeout: 180_000 }, () => {
  it("runs every run once, each worker's experiments on its own cores and GPUs", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "study.yaml",
      tinyStudyYaml({ batchSizes: [1, 2, 3, 4, 5, 6], cycles: 2, order: "interleave" }),
    );
    const log = join(dir, "starts.log");
    const placementLog = join(dir, "placement.log");
    const resultsDir = join(dir, "results");
    const outcome = await runCli(
      ["run", file, "--results-dir", resultsDir, "--workers", "2", "--gpus-per-worker", "1"],
      {
        env: workerFault("fake", {
          LLEM_TEST_WORKER_DELAY_MS: "150",
          LLEM_TEST_WORKER_LOG: log,
          LLEM_TEST_WORKER_PLACEMENT_LOG: placementLog,
          // As a scheduler would set it: the node's GPUs 3 and 5 are this job's.
          CUDA_VISIBLE_DEVICES: "3,5",
        }),
      },
    );
    expect(outcome.code, outcome.stderr).toBe(0);
    expect(outcome.stdout).toContain("Study completed: 12/12 runs completed");
    const studyDir = await onlyStudyDir(resultsDir);
    const manifest = await readStudyManifest(studyDir);
    expect(manifest.experiments.every((entry) => entry.status === "completed")).toBe(true);
    expect(manifest.experiments.every((entry) => entry.attempts === 1)).toBe(true);
    // Each run was executed exactly once.
    const starts = await lines(log);
    expect(starts).toHaveLength(12);
    expect(new Set(starts).size).toBe(12);

    const placements = (await lines(placementLog)).map((line) => JSON.parse(line) as Placement);
    const byGpu = new Map<string, Placement[]>();
    for (const placement of placements) {
      expect(placement.cuda_device_order).toBe("PCI_BUS_ID");
      const gpu = placement.cuda_visible_devices ?? "none";
      byGpu.set(gpu, [...(byGpu.get(gpu) ?? []), placement]);
    }
    // Two workers, one GPU each, never the same; NVML is told to measure that GPU alone.
    expect([...byGpu.keys()].sort()).toEqual(["3", "5"]);
    for (const [gpu, list] of byGpu) {
      expect(list.every((placement) => placement.gpu_devices?.join() === gpu)).toBe(true);
    }
    // On CPU: one core each where there are enough cores (this machine has at least 2).
    const cores = new Set(placements.map((placement) => placement.cpus_allowed));
    const [coresOf3, coresOf5] = [byGpu.get("3")!, byGpu.get("5")!].map(
      (list) => new Set(list.map((placement) => placement.cpus_allowed)),
    );
    expect(cores.size).toBe(2);
    expect(coresOf3!.size).toBe(1);
    expect(coresOf5!.size).toBe(1);
    expect([...coresOf3!][0]).not.toBe([...coresOf5!][0]);

    const summary = JSON.parse(readFileSync(join(studyDir, "study_summary.json"), "utf8"));
    expect(summary).toMatchObject({ status: "completed", counts: { completed: 12 } });
    const status = await runCli(["status", studyDir]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/Workers \(2\):/);
    expect(status.stdout).toMatch(/w1@.*gpus 3.*stopped \(done, \d+ runs\)/);
    expect(status.stdout).toMatch(/w2@.*gpus 5.*stopped \(done, \d+ runs\)/);
  });

  it("while it runs, llem status shows each worker, the run it holds and its heartbeat; the progress names each worker", async () => {
    const dir = await tempDir();
    const file = await writeText(dir, "study.yaml", tinyStudyYaml({ batchSizes: [1, 2, 3, 4] }));
    const resultsDir = join(dir, "results");
    const live = startCli(["run", file, "--results-dir", resultsDir, "--workers", "2"], {
      env: {
        ...workerFault("fake", { LLEM_TEST_WORKER_DELAY_MS: "4000" }),
        LLEM_HEARTBEAT_MS: "500",
      },
    });
    try {
      const studyDir = await waitFor(
        async () =>
          existsSync(resultsDir)
            ? await onlyStudyDir(resultsDir).catch(() => undefined)
            : undefined,
        { timeoutMs: 60_000, what: "the study dir" },
      );
      // Both workers hold a run (the delay keeps each experiment in flight for seconds).
      const status = await waitFor(
        async () => {
          const shown = await runCli(["status", studyDir]);
          const holding = shown.stdout
            .split("\n")
            .filter((line) => / runs c1 .*heartbeat .* ago/.test(line));
          return holding.length === 2 ? shown : undefined;
        },
        {
          timeoutMs: 60_000,
          intervalMs: 300,
          what: "llem status showing two workers holding runs",
        },
      );
      expect(status.stdout).toMatch(/running \(2 workers\)/);
      expect(status.stdout).toMatch(/^\s*w1\b.*runs c1 llamacpp \/ synthetic:tiny/m);
      expect(status.stdout).toMatch(/^\s*w2\b.*runs c1 llamacpp \/ synthetic:tiny/m);
      const json = JSON.parse((await runCli(["status", studyDir, "--json"])).stdout) as {
        workers: Array<{ worker: string; state: string; heartbeat_age_s: number | null }>;
      };
      const running = json.workers.filter((worker) => worker.state === "running");
      expect(running).toHaveLength(2);
      for (const worker of running) expect(worker.heartbeat_age_s).not.toBeNull();
      const outcome = await live.exited;
      expect(outcome.code, outcome.stderr).toBe(0);
      expect(outcome.stdout + outcome.stderr).toMatch(/\[w1\] /);
      expect(outcome.stdout + outcome.stderr).toMatch(/\[w2\] /);
    } finally {
      live.child.kill("SIGKILL");
    }
  });

  it("refuses more GPUs than CUDA_VISIBLE_DEVICES names, before creating anything", async () => {
    const dir = await tempDir();
    const file = await writeText(dir, "study.yaml", tinyStudyYaml());
    const outcome = await runCli(
      [
        "run",
        file,
        "--results-dir",
        join(dir, "results"),
        "--workers",
        "2",
        "--gpus-per-worker",
        "2",
      ],
      { env: workerFault("fake", { CUDA_VISIBLE_DEVICES: "0,1,2" }) },
    );
    expectCleanFailure(outcome, 2, /needs 4 GPUs, but CUDA_VISIBLE_DEVICES names 3/);
    expect(existsSync(join(dir, "results"))).toBe(false);
  });
});

describe("llem worker: bad input", { timeout: 120_000 }, () => {
  it("a dir with no manifest: exit 2, nothing written", async () => {
    const dir = await tempDir();
    const outcome = await runCli(["worker", dir]);
    expectCleanFailure(outcome, 2, /is not a study directory \(no study_manifest.json\)/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("a study whose yaml drifted: refused without --yes (exit 2), joins with --yes", async () => {
    const dir = await tempDir();
    const file = await writeText(dir, "study.yaml", tinyStudyYaml({ cycles: 1 }));
    const resultsDir = join(dir, "results");
    const slurm = await runCli(["slurm", file, "--array", "1", "--results-dir", resultsDir]);
    expect(slurm.code, slurm.stderr).toBe(0);
    const studyDir = await onlyStudyDir(resultsDir);
    await writeFile(file, tinyStudyYaml({ cycles: 2 }));
    const refused = await runCli(["worker", studyDir], { env: workerFault("fake") });
    expectCleanFailure(refused, 2, /changed since the study started, only in n_cycles/);
    expect((await readStudyManifest(studyDir)).experiments).toHaveLength(2);
    expect(existsSync(join(studyDir, "workers"))).toBe(false);

    const joined = await runCli(["worker", studyDir, "--yes"], { env: workerFault("fake") });
    expect(joined.code, joined.stderr).toBe(0);
    const manifest = await readStudyManifest(studyDir);
    expect(manifest.experiments).toHaveLength(4); // topped up with cycle 2
    expect(manifest.experiments.every((entry) => entry.status === "completed")).toBe(true);
    expect(existsSync(join(studyDir, "study_summary.json"))).toBe(true);
  });

  it("a finished study: says so, exits 0, writes nothing", async () => {
    const dir = await tempDir();
    const { studyDir } = await finishedStudy(dir);
    const before = await readdir(studyDir);
    const manifestBefore = readFileSync(join(studyDir, "study_manifest.json"));
    const outcome = await runCli(["worker", studyDir], { env: workerFault("fake") });
    expect(outcome.code, outcome.stderr).toBe(0);
    expect(outcome.stdout).toMatch(/is finished \(2\/2 runs completed\): nothing to do/);
    expect(await readdir(studyDir)).toEqual(before);
    expect(readFileSync(join(studyDir, "study_manifest.json"))).toEqual(manifestBefore);
  });

  it("bad options: a CPU list that is not one, --workers 0", async () => {
    const dir = await tempDir();
    const { file, studyDir } = await finishedStudy(dir);
    expectCleanFailure(await runCli(["worker", studyDir, "--cpus", "3-1"]), 2, /counts down/);
    expectCleanFailure(
      await runCli(["run", file, "--workers", "0"]),
      2,
      /--workers must be a whole number of at least 1, got "0"/,
    );
  });
});

describe("one worker's circuit breaker", { timeout: 180_000 }, () => {
  it("stops that worker and says so, in its output and in llem status; the next worker goes on", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "study.yaml",
      tinyStudyYaml({
        batchSizes: [1, 2, 3, 4, 5, 6],
        extra: "  max_consecutive_failures: 2\n  circuit_breaker_cooldown_seconds: 0\n",
      }),
    );
    const resultsDir = join(dir, "results");
    expect((await runCli(["slurm", file, "--array", "1", "--results-dir", resultsDir])).code).toBe(
      0,
    );
    const studyDir = await onlyStudyDir(resultsDir);
    // A worker on a broken machine: every experiment fails.
    const broken = await runCli(["worker", studyDir], { env: workerFault("error") });
    expect(broken.code, broken.stderr).toBe(1);
    expect(broken.stderr).toMatch(
      /circuit breaker: 3 failures in a row again after the probe; this worker stops, the others go on/,
    );
    expect(broken.stdout).toMatch(/circuit breaker stopped it after 2 failures in a row/);
    const status = await runCli(["status", studyDir]);
    expect(status.stdout).toMatch(
      /stopped \(circuit_breaker, 3 runs\): this worker's circuit breaker/,
    );

    const healthy = await runCli(["worker", studyDir], { env: workerFault("fake") });
    expect(healthy.code, healthy.stderr).toBe(0);
    let manifest = await readStudyManifest(studyDir);
    expect(manifest.experiments.filter((entry) => entry.status === "failed")).toHaveLength(3);
    expect(manifest.experiments.filter((entry) => entry.status === "completed")).toHaveLength(3);
    const partial = JSON.parse(readFileSync(join(studyDir, "study_summary.json"), "utf8"));
    expect(partial).toMatchObject({ status: "partial", counts: { completed: 3, failed: 3 } });

    // A resume with workers re-runs the failed runs (workers alone never retry a failure).
    const resumed = await runCli(["run", "--resume", studyDir, "--workers", "2"], {
      env: workerFault("fake"),
    });
    expect(resumed.code, resumed.stderr).toBe(0);
    manifest = await readStudyManifest(studyDir);
    expect(manifest.experiments.every((entry) => entry.status === "completed")).toBe(true);
    const failedBefore = manifest.experiments.filter((entry) => entry.attempts === 2);
    expect(failedBefore).toHaveLength(3);
    for (const entry of failedBefore) expect(entry.result_file).toMatch(/_a2\/result\.json$/);
  });
});

describe("workers keep the study's order and deadline", { timeout: 120_000 }, () => {
  it("a worker runs the runs in the planned order (here: shuffled, 2 cycles)", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "study.yaml",
      tinyStudyYaml({ batchSizes: [1, 2, 3, 4], cycles: 2, order: "shuffle" }),
    );
    const plan = await plannedRuns(file);
    const resultsDir = join(dir, "results");
    expect((await runCli(["slurm", file, "--array", "1", "--results-dir", resultsDir])).code).toBe(
      0,
    );
    const studyDir = await onlyStudyDir(resultsDir);
    const log = join(dir, "starts.log");
    const worker = await runCli(["worker", studyDir], {
      env: workerFault("fake", { LLEM_TEST_WORKER_LOG: log }),
    });
    expect(worker.code, worker.stderr).toBe(0);
    expect(await lines(log)).toEqual(plan.map((run) => `${run.config_hash} ${run.cycle}`));
  });

  it("no run starts after wall_clock_timeout_hours: the worker stops (exit 0), the rest stay pending", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "study.yaml",
      tinyStudyYaml({
        batchSizes: [1, 2, 3, 4, 5, 6],
        extra: "  wall_clock_timeout_hours: 0.0005\n",
      }),
    );
    const resultsDir = join(dir, "results");
    expect((await runCli(["slurm", file, "--array", "1", "--results-dir", resultsDir])).code).toBe(
      0,
    );
    const studyDir = await onlyStudyDir(resultsDir);
    // 1.8 s of deadline, 1 s per run: one or two runs start, the others do not.
    const worker = await runCli(["worker", studyDir, "--json"], {
      env: workerFault("fake", { LLEM_TEST_WORKER_DELAY_MS: "1000" }),
    });
    expect(worker.code, worker.stderr).toBe(0);
    const outcome = JSON.parse(worker.stdout.trim().split("\n").at(-1)!);
    expect(outcome).toMatchObject({ type: "worker_outcome", reason: "deadline" });
    const manifest = await readStudyManifest(studyDir);
    const pending = manifest.experiments.filter((entry) => entry.status === "pending");
    expect(pending.length).toBeGreaterThanOrEqual(3);
    expect(manifest.experiments.filter((entry) => entry.status === "running")).toHaveLength(0);
  });
});

describe("llem finalize", { timeout: 60_000 }, () => {
  it("writes the summary of a study whose workers are gone, from the manifest", async () => {
    const dir = await tempDir();
    const file = await writeText(dir, "study.yaml", tinyStudyYaml());
    const resultsDir = join(dir, "results");
    expect((await runCli(["slurm", file, "--array", "2", "--results-dir", resultsDir])).code).toBe(
      0,
    );
    const studyDir = await onlyStudyDir(resultsDir);
    const outcome = await runCli(["finalize", studyDir, "--json"]);
    expect(outcome.code, outcome.stderr).toBe(0);
    expect(JSON.parse(outcome.stdout)).toMatchObject({
      type: "finalized",
      status: "partial",
      counts: { total: 2, pending: 2 },
    });
    const summary = JSON.parse(readFileSync(join(studyDir, "study_summary.json"), "utf8"));
    expect(summary.counts).toMatchObject({ total_runs: 2, completed: 0, pending: 2 });
    expectCleanFailure(await runCli(["finalize", dir]), 2, /is not a study directory/);
  });
});

describe("llem slurm: the script and bad input (no cluster needed)", { timeout: 60_000 }, () => {
  it("writes a job array of workers with --gres, partition, time and extra lines", async () => {
    const dir = await tempDir();
    const file = await writeText(dir, "study.yaml", tinyStudyYaml({ name: "gpu_sweep" }));
    const resultsDir = join(dir, "results");
    const outcome = await runCli([
      "slurm",
      file,
      "--array",
      "3",
      "--gpus-per-task",
      "2",
      "--partition",
      "gpu",
      "--time",
      "02:00:00",
      "--sbatch-arg=--mem=32G",
      "--results-dir",
      resultsDir,
      "--json",
    ]);
    expect(outcome.code, outcome.stderr).toBe(0);
    const plan = JSON.parse(outcome.stdout);
    expect(plan).toMatchObject({ type: "slurm_array", job_id: null, array: 3, runs_left: 2 });
    const script = await readFile(plan.script, "utf8");
    const studyDir = await onlyStudyDir(resultsDir);
    expect(script).toMatch(/^#!\/bin\/bash\n/);
    expect(script).toContain("#SBATCH --array=0-2\n");
    expect(script).toContain("#SBATCH --gres=gpu:2\n");
    expect(script).toContain("#SBATCH --partition=gpu\n");
    expect(script).toContain("#SBATCH --time=02:00:00\n");
    expect(script).toContain("#SBATCH --mem=32G\n");
    expect(script).toContain(`#SBATCH --output="${studyDir}/slurm/logs/%A_%a.log"\n`);
    expect(script).toMatch(/\nexec '.+node[^']*' '.+\/cli\.js' 'worker' '.+'\n$/);
    expect(script).toContain(`'worker' '${studyDir}'\n`);
    expect(existsSync(join(studyDir, "slurm", "logs"))).toBe(true);
    const manifest = await readStudyManifest(studyDir);
    expect(manifest.experiments.every((entry) => entry.status === "pending")).toBe(true);
  });

  it("--array 0, a missing --array, and --submit without sbatch: clear errors, nothing created", async () => {
    const dir = await tempDir();
    const file = await writeText(dir, "study.yaml", tinyStudyYaml());
    const resultsDir = join(dir, "results");
    expectCleanFailure(
      await runCli(["slurm", file, "--array", "0", "--results-dir", resultsDir]),
      2,
      /--array must be a whole number of at least 1, got "0"/,
    );
    expectCleanFailure(
      await runCli(["slurm", file, "--results-dir", resultsDir]),
      2,
      /--array N is required/,
    );
    const noSbatch = await runCli(
      ["slurm", file, "--array", "2", "--submit", "--results-dir", resultsDir],
      { env: { PATH: "/nonexistent" } },
    );
    expectCleanFailure(noSbatch, 1, /sbatch was not found on PATH.*Nothing was written/);
    expect(existsSync(resultsDir)).toBe(false);
  });

  it("a finished study is not submitted again", async () => {
    const dir = await tempDir();
    const { file, studyDir } = await finishedStudy(dir);
    expectCleanFailure(
      await runCli(["slurm", file, "--resume", studyDir, "--array", "2"]),
      2,
      /is finished: all 2 runs completed; no array submitted/,
    );
    expect(existsSync(join(studyDir, "slurm"))).toBe(false);
  });
});
