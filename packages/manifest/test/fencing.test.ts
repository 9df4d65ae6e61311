import type { ChildProcess } from "node:child_process";
import { readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LlemError } from "@llem/schema";
import { describe, expect, it } from "vitest";
import {
  JOURNAL_FILE_NAME,
  LOCK_DIR_NAME,
  ManifestStore,
  readLockOwner,
  readManifest,
} from "../src/index.js";
import { makeRuns, spawnFixture, studyFields, testDir } from "./helpers.js";

// proper-lockfile's smallest stale period: a holder stopped for longer can be taken over.
const LOCK_STALE_MS = 2000;
const LEASE_TTL_MS = 1500;

/** Resolves with the first line of the child's stdout that starts with `prefix`. */
function lineFrom(child: ChildProcess, prefix: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    const onData = (chunk: string) => {
      buffered += chunk;
      const line = buffered.split("\n").find((l) => l.startsWith(prefix));
      if (line !== undefined) {
        child.stdout!.off("data", onData);
        resolve(line);
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code, signal) =>
      reject(new Error(`child exited (${code ?? signal}) before printing ${prefix}`)),
    );
  });
}

async function errorCode(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => "ok",
    (error: unknown) => (LlemError.isInstance(error) ? error.code : String(error)),
  );
}

/** Waits until the lock directory's heartbeat (mtime) is older, or younger, than `ms`. */
async function lockAge(dir: string, older: boolean, ms: number): Promise<void> {
  for (;;) {
    const age = Date.now() - (await stat(join(dir, LOCK_DIR_NAME))).mtimeMs;
    if (older ? age > ms : age < ms) return;
    await sleep(50);
  }
}

/** Starts fenced-holder.mjs; `goOn()` lets it continue (once it is continued, if stopped). */
async function startHolder(dir: string, mode: "exclusive" | "shared", order: string) {
  const goFile = join(await testDir(), "go");
  const holder = spawnFixture("fenced-holder.mjs", [
    dir,
    mode,
    String(LOCK_STALE_MS),
    String(LEASE_TTL_MS),
    order,
    goFile,
  ]);
  const running = await lineFrom(holder.child, "RUNNING");
  const goOn = async (): Promise<Record<string, unknown>> => {
    const outcome = lineFrom(holder.child, "{");
    await writeFile(goFile, "");
    holder.child.kill("SIGCONT");
    return JSON.parse(await outcome) as Record<string, unknown>;
  };
  return { ...holder, running, goOn };
}

async function newStudy(runs = 2): Promise<{ dir: string; hashes: string[] }> {
  const dir = await testDir();
  const specs = makeRuns(runs);
  const creator = await ManifestStore.create(dir, { ...studyFields, runs: specs });
  await creator.close();
  return { dir, hashes: specs.map((run) => run.configHash) };
}

const resultPath = (hash: string, attempt: number) =>
  `experiments/${hash}_c1/attempt-${attempt}/result.json`;

describe("a holder that lost the study writes nothing into it (fencing)", () => {
  it("refuses every write as soon as its lock was replaced, before proper-lockfile notices", async () => {
    const dir = await testDir();
    const runs = makeRuns(3);
    const run0 = { configHash: runs[0]!.configHash, cycle: 1 };
    // Default stale period (30 s): proper-lockfile's own heartbeat check runs every 10 s, so
    // within this test only the fence can notice that the lock changed hands.
    const a = await ManifestStore.create(dir, { ...studyFields, runs });
    expect(await a.markRunning(run0.configHash, 1)).toBe(1);
    const mine = await a.writeFileFenced(resultPath(run0.configHash, 1), "a, attempt 1\n", {
      run: run0,
    });
    expect(mine).toBe(resultPath(run0.configHash, 1));
    await a.writeFileFenced("study_summary.json", "a\n");

    // This holder stalls: its lock looks stale, and another process takes the study over.
    const old = new Date(Date.now() - 60_000);
    await utimes(join(dir, LOCK_DIR_NAME), old, old);
    const b = spawnFixture("take-over.mjs", [dir]);
    expect(await lineFrom(b.child, "DONE")).toBe("DONE 2");
    const journal = await readFile(join(dir, JOURNAL_FILE_NAME), "utf8");
    const before = await readManifest(dir);

    const first = await a.writeFileFenced("study_summary.json", "a, stale\n").then(
      () => undefined,
      (error: unknown) => error as LlemError,
    );
    expect(first?.code).toBe("MANIFEST_LOCK_COMPROMISED");
    expect(first?.message).toContain("replaced by another process's");
    expect(a.signal.aborted).toBe(true);
    const refused = {
      completed: await errorCode(a.markCompleted(run0.configHash, 1, mine)),
      failed: await errorCode(
        a.markFailed(run0.configHash, 1, { errorType: "E", errorMessage: "m" }),
      ),
      requeue: await errorCode(a.requeue(run0.configHash, 1)),
      running: await errorCode(a.markRunning(runs[1]!.configHash, 1)),
      added: await errorCode(a.addRuns([{ configHash: "extra", configSummary: "x", cycle: 1 }])),
      result: await errorCode(a.writeFileFenced(mine, "a, stale\n", { run: run0 })),
    };
    expect(new Set(Object.values(refused))).toEqual(new Set(["MANIFEST_LOCK_COMPROMISED"]));
    await a.close();

    // What the new holder wrote is intact, and its lock is still its own.
    expect(await readFile(join(dir, JOURNAL_FILE_NAME), "utf8")).toBe(journal);
    expect(await readManifest(dir)).toEqual(before);
    expect(before.experiments[0]).toMatchObject({
      status: "completed",
      attempts: 2,
      result_file: resultPath(run0.configHash, 2),
    });
    expect(await readFile(join(dir, "study_summary.json"), "utf8")).toBe('{"by":"b"}\n');
    expect(await readFile(join(dir, resultPath(run0.configHash, 2)), "utf8")).toContain('"by":"b"');
    expect(await readFile(join(dir, mine), "utf8")).toBe("a, attempt 1\n");
    expect((await readLockOwner(dir))?.pid).toBe(b.child.pid);
    b.child.kill("SIGUSR2");
    expect((await b.done).stdout).toContain("CLOSED");
    const final = await readManifest(dir);
    expect(final.experiments.slice(0, 2).map((e) => e.status)).toEqual(["completed", "completed"]);
  }, 60_000);

  it.each([
    ["while the new holder holds the study", "write-first"],
    ["after the new holder finished and released it", "mark-first"],
  ])(
    "a holder SIGSTOPped past the stale period and taken over: on SIGCONT its writes are refused (%s)",
    async (_label, order) => {
      const { dir, hashes } = await newStudy();
      const a = await startHolder(dir, "exclusive", order);
      expect(a.running).toBe("RUNNING 1");
      a.child.kill("SIGSTOP");
      try {
        // Takes the study over once the stopped holder's lock is stale (no fixed sleep).
        const b = await ManifestStore.open(dir, { lockStaleMs: LOCK_STALE_MS, lockWaitMs: 30_000 });
        const run0 = { configHash: hashes[0]!, cycle: 1 };
        expect(b.entry(run0.configHash, 1)).toMatchObject({ status: "pending", attempts: 1 });
        const attempt = await b.markRunning(run0.configHash, 1);
        expect(attempt).toBe(2);
        const theirs = await b.writeFileFenced(resultPath(run0.configHash, 2), "b\n", {
          run: run0,
        });
        await b.markCompleted(run0.configHash, 1, theirs);
        await b.writeFileFenced("study_summary.json", "b\n");
        if (order === "mark-first") await b.close();
        const before = await readManifest(dir);

        expect(await a.goOn()).toEqual({
          completed: "MANIFEST_LOCK_COMPROMISED",
          result: "MANIFEST_LOCK_COMPROMISED",
          summary: "MANIFEST_LOCK_COMPROMISED",
          aborted: true,
        });
        a.child.kill("SIGUSR2");
        const exit = await a.done;
        expect(exit.code, exit.stderr).toBe(0);

        expect(await readManifest(dir)).toEqual(before);
        expect(before.experiments[0]).toMatchObject({ status: "completed", result_file: theirs });
        expect(await readFile(join(dir, "study_summary.json"), "utf8")).toBe("b\n");
        expect(await readFile(join(dir, theirs), "utf8")).toBe("b\n");
        // The stale holder's own attempt kept only what it wrote before it was stopped.
        expect(await readFile(join(dir, resultPath(run0.configHash, 1)), "utf8")).toContain(
          '"part":1',
        );
        if (order === "write-first") {
          // Its exit left the new holder's lock in place: the new holder carries on.
          expect((await readLockOwner(dir))?.pid).toBe(process.pid);
          await b.markRunning(hashes[1]!, 1);
          await b.markCompleted(hashes[1]!, 1, "r1.json");
          await b.close();
          expect((await readManifest(dir)).status).toBe("completed");
        } else {
          expect(await readdir(dir)).not.toContain(LOCK_DIR_NAME);
        }
      } finally {
        a.child.kill("SIGKILL");
      }
    },
    60_000,
  );

  it("a holder SIGSTOPped past the stale period but continued before anyone took over carries on", async () => {
    const { dir, hashes } = await newStudy();
    const a = await startHolder(dir, "exclusive", "write-first");
    try {
      expect(a.running).toBe("RUNNING 1");
      a.child.kill("SIGSTOP");
      await lockAge(dir, true, LOCK_STALE_MS + 500);
      expect(await a.goOn()).toEqual({
        result: "ok",
        summary: "ok",
        completed: "ok",
        aborted: false,
      });
      // Its heartbeat resumed: the lock is fresh again, and a second runner is refused.
      await lockAge(dir, false, 1000);
      const refused = await errorCode(
        ManifestStore.open(dir, { lockStaleMs: LOCK_STALE_MS, lockWaitMs: 300 }),
      );
      expect(refused).toBe("MANIFEST_LOCKED");
      a.child.kill("SIGUSR2");
      expect((await a.done).code).toBe(0);
      const manifest = await readManifest(dir);
      expect(manifest.experiments[0]).toMatchObject({
        status: "completed",
        attempts: 1,
        result_file: resultPath(hashes[0]!, 1),
      });
      expect(await readFile(join(dir, resultPath(hashes[0]!, 1)), "utf8")).toContain('"part":2');
      expect(await readFile(join(dir, "study_summary.json"), "utf8")).toBe('{"by":"a"}\n');
    } finally {
      a.child.kill("SIGKILL");
    }
  }, 60_000);
});

describe("a worker whose lease was taken over writes nothing for that run (shared mode)", () => {
  it("SIGSTOPped past its lease and re-claimed by another worker: on SIGCONT its result and transition are refused", async () => {
    const { dir, hashes } = await newStudy();
    const a = await startHolder(dir, "shared", "write-first");
    try {
      expect(a.running).toBe("RUNNING 1");
      a.child.kill("SIGSTOP");
      const b = await ManifestStore.open(dir, {
        mode: "shared",
        workerId: "b",
        leaseTtlMs: LEASE_TTL_MS,
      });
      // b gets the other run at once, and a's run once a's lease expired.
      expect((await b.claimNext())?.config_hash).toBe(hashes[1]);
      let taken = await b.claimNext();
      while (taken === null) {
        await sleep(100);
        taken = await b.claimNext();
      }
      expect(taken).toMatchObject({ config_hash: hashes[0], attempts: 2 });
      const run0 = { configHash: hashes[0]!, cycle: 1 };
      const theirs = await b.writeFileFenced(resultPath(run0.configHash, 2), "b\n", { run: run0 });
      await b.markCompleted(run0.configHash, 1, theirs);
      const before = await readManifest(dir);

      expect(await a.goOn()).toEqual({
        result: "INVALID_TRANSITION",
        completed: "INVALID_TRANSITION",
        aborted: false,
      });
      a.child.kill("SIGUSR2");
      expect((await a.done).code).toBe(0);
      expect(await readManifest(dir)).toMatchObject({
        experiments: [before.experiments[0], expect.anything()],
      });
      expect(before.experiments[0]).toMatchObject({ status: "completed", result_file: theirs });
      expect(await readFile(join(dir, theirs), "utf8")).toBe("b\n");
      expect(await readFile(join(dir, resultPath(run0.configHash, 1)), "utf8")).toContain(
        '"part":1',
      );
      await b.markCompleted(hashes[1]!, 1, "r1.json");
      await b.close();
    } finally {
      a.child.kill("SIGKILL");
    }
  }, 60_000);

  it("SIGSTOPped past its lease but continued before anyone claimed the run: it finishes the run", async () => {
    const { dir, hashes } = await newStudy(1);
    const a = await startHolder(dir, "shared", "write-first");
    try {
      expect(a.running).toBe("RUNNING 1");
      a.child.kill("SIGSTOP");
      await sleep(LEASE_TTL_MS + 500);
      expect(await a.goOn()).toEqual({ result: "ok", completed: "ok", aborted: false });
      a.child.kill("SIGUSR2");
      expect((await a.done).code).toBe(0);
      expect((await readManifest(dir)).experiments[0]).toMatchObject({
        status: "completed",
        attempts: 1,
        result_file: resultPath(hashes[0]!, 1),
      });
    } finally {
      a.child.kill("SIGKILL");
    }
  }, 60_000);

  it("refuses a worker whose run was re-claimed under the same worker id (the attempt changed)", async () => {
    const { dir, hashes } = await newStudy(1);
    const options = { mode: "shared" as const, workerId: "slurm-task-7", leaseTtlMs: 200 };
    const stalled = await ManifestStore.open(dir, options);
    const restarted = await ManifestStore.open(dir, options);
    const run0 = { configHash: hashes[0]!, cycle: 1 };
    expect((await stalled.claimNext())?.attempts).toBe(1);
    await sleep(400);
    expect((await restarted.claimNext())?.attempts).toBe(2);
    const completed = await stalled.markCompleted(run0.configHash, 1, "stale.json").then(
      () => undefined,
      (error: unknown) => error as LlemError,
    );
    expect(completed?.code).toBe("INVALID_TRANSITION");
    expect(completed?.details).toMatchObject({
      reason: "attempt_changed",
      attempt: 2,
      claimed_attempt: 1,
    });
    expect(await errorCode(stalled.writeFileFenced("r/stale.json", "x", { run: run0 }))).toBe(
      "INVALID_TRANSITION",
    );
    expect(await errorCode(stalled.requeue(run0.configHash, 1))).toBe("INVALID_TRANSITION");
    await restarted.markCompleted(run0.configHash, 1, "fresh.json");
    await stalled.close();
    await restarted.close();
    expect((await readManifest(dir)).experiments[0]).toMatchObject({
      status: "completed",
      result_file: "fresh.json",
    });
    expect(await readdir(dir)).not.toContain("r");
  });
});
