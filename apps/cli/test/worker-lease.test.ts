/**
 * Leases between workers whose clocks disagree, for real: each `llem worker` runs with
 * libfaketime preloaded (Debian's faketime package), one 5 s behind the real clock and one 5 s
 * ahead — the ±5 s skew between hosts a lease must tolerate. Lease TTL 12 s, heartbeat 1 s.
 *
 * - A live worker's lease is never taken, even by a worker whose clock is 10 s ahead of its own,
 *   through a run longer than the TTL.
 * - A worker SIGSTOPped past its lease (as judged by the other's clock) loses the run to the
 *   other worker, and when continued writes nothing for it: no result.json, the manifest keeps
 *   the other worker's attempt.
 *
 * Skipped, with the reason, where libfaketime is not installed (.ci/run installs it).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir, waitFor } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import {
  CLI,
  cliEnv,
  onlyStudyDir,
  REPO,
  readStudyManifest,
  runCli,
  tinyStudyYaml,
  workerFault,
  writeText,
} from "./helpers.js";

const LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
const hasFaketime = existsSync(LIBFAKETIME);
const TIMING = { LLEM_LEASE_TTL_MS: "12000", LLEM_HEARTBEAT_MS: "1000" };

interface Worker {
  child: ChildProcess;
  events(): Array<{ type: string; at: string } & Record<string, unknown>>;
  exited: Promise<{ code: number | null; stderr: string }>;
}

/** `llem worker DIR --json` with its clock shifted by `skew` ("-5s", "+5s"). */
function skewedWorker(studyDir: string, skew: string, delayMs: number, log: string): Worker {
  const env = cliEnv({
    ...workerFault("fake", {
      LLEM_TEST_WORKER_DELAY_MS: String(delayMs),
      LLEM_TEST_WORKER_LOG: log,
    }),
    ...TIMING,
    LD_PRELOAD: LIBFAKETIME,
    FAKETIME: skew,
  });
  const child = spawn(process.execPath, [CLI, "worker", studyDir, "--json"], {
    cwd: REPO,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr!.on("data", (chunk) => {
    stderr += chunk;
  });
  return {
    child,
    events: () =>
      stdout
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line)),
    exited: new Promise((resolve) => child.on("close", (code) => resolve({ code, stderr }))),
  };
}

async function threeRunStudy(dir: string): Promise<string> {
  const file = await writeText(dir, "study.yaml", tinyStudyYaml({ batchSizes: [1, 2, 3] }));
  const resultsDir = join(dir, "results");
  const made = await runCli(["slurm", file, "--array", "2", "--results-dir", resultsDir]);
  expect(made.code, made.stderr).toBe(0);
  return onlyStudyDir(resultsDir);
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

describe.skipIf(!hasFaketime)(
  `leases under ±5 s clock skew (libfaketime${hasFaketime ? "" : ": not installed, apt install faketime"})`,
  { timeout: 180_000 },
  () => {
    it("a live worker keeps its run through a run longer than the TTL, though the other's clock is 10 s ahead", async () => {
      const dir = await tempDir();
      const studyDir = await threeRunStudy(dir);
      const log = join(dir, "starts.log");
      const slow = skewedWorker(studyDir, "-5s", 16_000, log);
      try {
        const started = await waitFor(
          () => slow.events().find((event) => event.type === "run_started"),
          { timeoutMs: 60_000, what: "the slow-clock worker's run" },
        );
        // Its clock really is behind.
        expect(Date.now() - Date.parse(started.at)).toBeGreaterThan(3500);
        const fast = skewedWorker(studyDir, "+5s", 200, log);
        const fastStarted = await waitFor(
          () => fast.events().find((event) => event.type === "worker_started"),
          { timeoutMs: 60_000, what: "the fast-clock worker" },
        );
        expect(Date.parse(fastStarted.at) - Date.now()).toBeGreaterThan(3500);
        const [slowDone, fastDone] = await Promise.all([slow.exited, fast.exited]);
        expect(slowDone.code, slowDone.stderr).toBe(0);
        expect(fastDone.code, fastDone.stderr).toBe(0);
        const manifest = await readStudyManifest(studyDir);
        expect(manifest.experiments.every((entry) => entry.status === "completed")).toBe(true);
        // Run 1 stayed the slow worker's: one attempt, never started by the fast one.
        const first = manifest.experiments[0]!;
        expect(first.attempts).toBe(1);
        expect(first.result_file).not.toMatch(/_a\d+\//);
        const fastRuns = fast
          .events()
          .filter((event) => event.type === "run_started")
          .map((event) => event.config_hash);
        expect(fastRuns).toHaveLength(2);
        expect(fastRuns).not.toContain(first.config_hash);
      } finally {
        slow.child.kill("SIGKILL");
      }
    });

    it("a worker SIGSTOPped past its lease loses the run, and when continued writes nothing for it", async () => {
      const dir = await tempDir();
      const studyDir = await threeRunStudy(dir);
      const log = join(dir, "starts.log");
      const stalled = skewedWorker(studyDir, "-5s", 4000, log);
      try {
        const started = await waitFor(
          () => stalled.events().find((event) => event.type === "run_started"),
          { timeoutMs: 60_000, what: "the first worker's run" },
        );
        const hash = started.config_hash as string;
        stalled.child.kill("SIGSTOP");
        const rescuer = skewedWorker(studyDir, "+5s", 200, log);
        const rescuerDone = await rescuer.exited;
        expect(rescuerDone.code, rescuerDone.stderr).toBe(0);
        const taken = rescuer
          .events()
          .find((event) => event.type === "run_started" && event.config_hash === hash);
        expect(taken).toMatchObject({ attempt: 2 });
        const manifest = await readStudyManifest(studyDir);
        const entry = manifest.experiments.find((e) => e.config_hash === hash)!;
        expect(entry).toMatchObject({ status: "completed", attempts: 2 });
        expect(entry.result_file).toMatch(/_a2\/result\.json$/);
        const recorded = join(studyDir, entry.result_file!);
        const recordedHash = sha256(recorded);
        const firstAttemptDir = join(
          recorded,
          "..",
          "..",
          entry.result_file!.split("/")[1]!.replace(/_a2$/, ""),
        );

        stalled.child.kill("SIGCONT");
        const stalledDone = await stalled.exited;
        expect(stalledDone.code, stalledDone.stderr).toBe(0);
        expect(stalled.events().find((event) => event.type === "run_lost")).toMatchObject({
          config_hash: hash,
          attempt: 1,
        });
        // Nothing from the stale attempt: its own dir has no result, the recorded one is intact.
        expect(existsSync(firstAttemptDir)).toBe(true);
        expect(existsSync(join(firstAttemptDir, "result.json"))).toBe(false);
        expect(sha256(recorded)).toBe(recordedHash);
        const after = await readStudyManifest(studyDir);
        expect(after.experiments.find((e) => e.config_hash === hash)).toEqual(entry);
        const summary = JSON.parse(readFileSync(join(studyDir, "study_summary.json"), "utf8"));
        expect(summary).toMatchObject({ status: "completed", counts: { completed: 3 } });
      } finally {
        stalled.child.kill("SIGKILL");
      }
    });
  },
);
