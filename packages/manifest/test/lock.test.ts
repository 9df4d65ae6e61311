import { spawn } from "node:child_process";
import { mkdir, readdir, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { LlemError } from "@llem/schema";
import { exited } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { LOCK_INTENT_FILE_PREFIX } from "../src/constants.js";
import { LOCK_DIR_NAME, LOCK_OWNER_FILE_NAME, ManifestStore, readLockOwner } from "../src/index.js";
import { makeRuns, spawnFixture, studyFields, testDir } from "./helpers.js";

async function closedStudy(): Promise<string> {
  const dir = await testDir();
  const store = await ManifestStore.create(dir, { ...studyFields, runs: makeRuns(3) });
  await store.close();
  return dir;
}

describe("one writer per study directory", () => {
  it("two processes opening at the same moment: exactly one wins, the other gets MANIFEST_LOCKED", async () => {
    const dir = await closedStudy();
    for (let round = 0; round < 3; round++) {
      const startAt = String(Date.now() + 600);
      const children = [0, 1].map(() => spawnFixture("open-and-hold.mjs", [dir, startAt, "1500"]));
      const results = await Promise.all(children.map((c) => c.done));
      const winners = results.filter((r) => r.stdout.startsWith("WON"));
      const losers = results.filter((r) => r.code === 3);
      expect(winners, JSON.stringify(results)).toHaveLength(1);
      expect(losers).toHaveLength(1);
      const winnerPid = winners[0]!.stdout.split(" ")[1]!.trim();
      const refusal = JSON.parse(losers[0]!.stdout) as { code: string; message: string };
      expect(refusal.code).toBe("MANIFEST_LOCKED");
      expect(refusal.message).toContain(`pid ${winnerPid} on host ${hostname()} since `);
      expect(refusal.message).toContain(dir);
    }
    expect(await readdir(dir)).not.toContain(LOCK_DIR_NAME);
  }, 60_000);

  it("publishes the holder for `llem status` while held, and nothing after release", async () => {
    const dir = await closedStudy();
    expect(await readLockOwner(dir)).toBeNull();
    const store = await ManifestStore.open(dir);
    const owner = await readLockOwner(dir);
    expect(owner).toMatchObject({ host: hostname(), pid: process.pid });
    expect(owner?.since).toMatch(/Z$/);
    await store.close();
    expect(await readLockOwner(dir)).toBeNull();
    expect(await readdir(dir)).not.toContain(LOCK_OWNER_FILE_NAME);
  });

  it("waits out a lock held on another host, and takes it over once stale", async () => {
    const dir = await closedStudy();
    const lockDir = join(dir, LOCK_DIR_NAME);
    await mkdir(lockDir);
    const { ino } = await import("node:fs/promises").then((fs) => fs.stat(lockDir));
    await writeFile(
      join(dir, LOCK_OWNER_FILE_NAME),
      JSON.stringify({
        host: "gpu-node-7",
        pid: 4242,
        since: "2026-01-01T00:00:00.000Z",
        token: "t",
        lock_ino: ino,
      }),
    );
    const refused = await ManifestStore.open(dir, { lockWaitMs: 300 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(LlemError.hasCode(refused, "MANIFEST_LOCKED")).toBe(true);
    expect((refused as Error).message).toContain(
      "pid 4242 on host gpu-node-7 since 2026-01-01T00:00:00.000Z",
    );
    // The foreign holder stopped heart-beating a minute ago: past the 30 s stale period.
    const old = new Date(Date.now() - 60_000);
    await utimes(lockDir, old, old);
    const store = await ManifestStore.open(dir, { lockWaitMs: 300 });
    expect(await readLockOwner(dir)).toMatchObject({ pid: process.pid });
    await store.close();
  });

  // The state a holder leaves when it is SIGKILLed after proper-lockfile's mkdir and before its
  // owner file: the lock directory, its intent file, and maybe an owner file of an earlier lock.
  async function lockOfKilledHolder(dir: string, intent: object): Promise<void> {
    const lockDir = join(dir, LOCK_DIR_NAME);
    await mkdir(lockDir);
    await writeFile(
      join(dir, LOCK_OWNER_FILE_NAME),
      JSON.stringify({
        host: hostname(),
        pid: 1,
        since: "2026-01-01T00:00:00.000Z",
        token: "old",
        lock_ino: (await stat(lockDir)).ino + 1,
      }),
    );
    const pid = (intent as { pid: number }).pid;
    await writeFile(join(dir, `${LOCK_INTENT_FILE_PREFIX}${pid}.json`), JSON.stringify(intent));
  }

  it("takes over at once a lock whose holder died before writing its owner file", async () => {
    const dir = await closedStudy();
    const child = spawn(process.execPath, ["-e", "0"]);
    const deadPid = child.pid as number;
    await exited(child);
    await lockOfKilledHolder(dir, { host: hostname(), pid: deadPid, state: "acquiring" });
    // A contender that gave up waiting on this lock is no evidence either way.
    const waiting = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
    const lockIno = (await stat(join(dir, LOCK_DIR_NAME))).ino;
    await writeFile(
      join(dir, `${LOCK_INTENT_FILE_PREFIX}${waiting.pid}.json`),
      JSON.stringify({ host: hostname(), pid: waiting.pid, state: "waiting", lock_ino: lockIno }),
    );
    try {
      const store = await ManifestStore.open(dir, { lockWaitMs: 300 });
      expect(await readLockOwner(dir)).toMatchObject({ pid: process.pid });
      await store.close();
    } finally {
      waiting.kill("SIGKILL");
    }
    const left = await readdir(dir);
    expect(left).not.toContain(`${LOCK_INTENT_FILE_PREFIX}${deadPid}.json`);
    expect(left).not.toContain(`${LOCK_INTENT_FILE_PREFIX}${process.pid}.json`);
  });

  it("does not take over such a lock while the process that may hold it is alive", async () => {
    const dir = await closedStudy();
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
    try {
      await lockOfKilledHolder(dir, { host: hostname(), pid: holder.pid, state: "acquiring" });
      const refused = await ManifestStore.open(dir, { lockWaitMs: 300 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(LlemError.hasCode(refused, "MANIFEST_LOCKED")).toBe(true);
      expect((refused as Error).message).toContain("an unknown process (no owner file)");
      expect(await readdir(dir)).toContain(LOCK_DIR_NAME);
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it("a lost lock aborts store.signal and makes later calls reject, without crashing", async () => {
    const dir = await testDir();
    const runs = makeRuns(2);
    const store = await ManifestStore.create(dir, { ...studyFields, runs, lockStaleMs: 2000 });
    const aborted = new Promise<unknown>((resolve) => {
      store.signal.addEventListener("abort", () => resolve(store.signal.reason));
    });
    // Someone removes the lock by hand; the heartbeat notices within its update period (1 s).
    await import("node:fs/promises").then((fs) =>
      fs.rm(join(dir, LOCK_DIR_NAME), { recursive: true }),
    );
    const reason = await aborted;
    expect(LlemError.hasCode(reason, "MANIFEST_LOCK_COMPROMISED")).toBe(true);
    const rejected = await store.markRunning(runs[0]!.configHash, 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(LlemError.hasCode(rejected, "MANIFEST_LOCK_COMPROMISED")).toBe(true);
    await store.close();
    // Nothing was written after the loss, and the study can be opened again.
    const again = await ManifestStore.open(dir);
    expect(again.counts.running).toBe(0);
    await again.close();
  }, 20_000);

  it("sweeps on open the intent temp files that killed processes left, and keeps a live one's", async () => {
    const dir = await closedStudy();
    const child = spawn(process.execPath, ["-e", "0"]);
    const deadPid = child.pid as number;
    await exited(child);
    const live = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
    try {
      // What writeFileAtomic leaves when its writer is SIGKILLed between creating the temp file
      // of an intent and renaming it: `.<intent name>.<pid>.<random>.tmp`.
      const leftover = `.${LOCK_INTENT_FILE_PREFIX}${deadPid}.json.${deadPid}.0badf00d.tmp`;
      const inFlight = `.${LOCK_INTENT_FILE_PREFIX}${live.pid}.json.${live.pid}.0c0ffee0.tmp`;
      // An intent file of a dead process, also left behind.
      const deadIntent = `${LOCK_INTENT_FILE_PREFIX}${deadPid}.json`;
      await writeFile(join(dir, leftover), '{"host":');
      await writeFile(join(dir, inFlight), '{"host":');
      await writeFile(
        join(dir, deadIntent),
        JSON.stringify({ host: hostname(), pid: deadPid, state: "acquiring" }),
      );
      for (const open of [
        () => ManifestStore.open(dir),
        () => ManifestStore.open(dir, { mode: "shared" }),
      ]) {
        const store = await open();
        await store.close();
        const left = await readdir(dir);
        expect(left).not.toContain(leftover);
        expect(left).not.toContain(deadIntent);
        expect(left).toContain(inFlight);
        await writeFile(join(dir, leftover), '{"host":');
      }
      // Past the stale period no writer can still be busy with it, whatever its pid says.
      const old = new Date(Date.now() - 60_000);
      await utimes(join(dir, inFlight), old, old);
      await (await ManifestStore.open(dir)).close();
      expect(await readdir(dir)).not.toContain(inFlight);
      // A new study in a directory that holds such leftovers sweeps them too.
      const other = await testDir();
      await writeFile(join(other, leftover), '{"host":');
      const created = await ManifestStore.create(other, { ...studyFields, runs: makeRuns(1) });
      expect(await readdir(other)).not.toContain(leftover);
      await created.close();
    } finally {
      live.kill("SIGKILL");
    }
  });
});
