import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LlemError, StudyManifest } from "@llem/schema";
import { describe, expect, it } from "vitest";
import { makeRuns, studyFields, testDir } from "../test/helpers.js";
import {
  JOURNAL_FILE_NAME,
  MANIFEST_BACKUP_FILE_NAME,
  MANIFEST_FILE_NAME,
  ManifestStore,
  PRETTY_MANIFEST_MAX_RUNS,
  readManifest,
} from "./index.js";

async function onDisk(dir: string): Promise<StudyManifest> {
  const text = await readFile(join(dir, MANIFEST_FILE_NAME), "utf8");
  return StudyManifest.parse(JSON.parse(text));
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<LlemError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(LlemError.hasCode(error, code as never), `expected ${code}, got ${String(error)}`).toBe(
    true,
  );
  return error as LlemError;
}

describe("ManifestStore (exclusive)", () => {
  it("creates a seed-format manifest with every run pending", async () => {
    const dir = await testDir();
    const store = await ManifestStore.create(dir, {
      ...studyFields,
      studyDesignHash: "d".repeat(16),
      runs: makeRuns(4, 2),
      llemVersion: "9.9.9",
    });
    const manifest = await onDisk(dir);
    expect(manifest.schema_version).toBe("2.0");
    expect(manifest.study_name).toBe("unit-study");
    expect(manifest.llenergymeasure_version).toBe("9.9.9");
    expect(manifest.study_design_hash).toBe("d".repeat(16));
    expect(manifest.started_at).toMatch(/Z$/);
    expect(manifest.completed_at).toBeNull();
    expect(manifest.status).toBe("running");
    expect(manifest.experiments.map((e) => [e.config_hash.slice(-1), e.cycle, e.status])).toEqual([
      ["0", 1, "pending"],
      ["1", 1, "pending"],
      ["0", 2, "pending"],
      ["1", 2, "pending"],
    ]);
    expect(store.counts).toEqual({ pending: 4, running: 0, completed: 0, failed: 0 });
    await store.close();
  });

  it("writes JSON byte-identical to JSON.stringify(manifest, null, 2)", async () => {
    const dir = await testDir();
    const store = await ManifestStore.create(dir, { ...studyFields, runs: makeRuns(3) });
    await store.markRunning(store.entries[1]!.config_hash, 1);
    const text = await readFile(join(dir, MANIFEST_FILE_NAME), "utf8");
    expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
    await store.close();
  });

  it("writes large studies compactly (JSON.stringify(manifest)) and small ones pretty-printed", async () => {
    const dir = await testDir();
    const runs = makeRuns(PRETTY_MANIFEST_MAX_RUNS);
    const store = await ManifestStore.create(dir, { ...studyFields, runs });
    const manifestPath = join(dir, MANIFEST_FILE_NAME);
    const pretty = await readFile(manifestPath, "utf8");
    expect(pretty).toBe(`${JSON.stringify(JSON.parse(pretty), null, 2)}\n`);
    // One more run crosses the threshold: the rewrite is compact, and readers see the same runs.
    await store.addRuns([{ configHash: "extra", configSummary: "one more", cycle: 1 }]);
    await store.markRunning(runs[0]!.configHash, runs[0]!.cycle);
    await store.flush();
    const compact = await readFile(manifestPath, "utf8");
    expect(compact).toBe(`${JSON.stringify(JSON.parse(compact))}\n`);
    const read = await readManifest(dir);
    expect(read.experiments).toHaveLength(PRETTY_MANIFEST_MAX_RUNS + 1);
    expect(read.experiments[0]!.status).toBe("running");
    expect(read).toEqual(JSON.parse(compact));
    await store.close();
    // Reopened from the compact file, the store keeps writing it compactly.
    const reopened = await ManifestStore.open(dir);
    if (reopened.entries[0]!.status !== "running") {
      await reopened.markRunning(runs[0]!.configHash, runs[0]!.cycle);
    }
    await reopened.markCompleted(runs[0]!.configHash, runs[0]!.cycle, "r.json");
    await reopened.close();
    const again = await readFile(manifestPath, "utf8");
    expect(again).toBe(`${JSON.stringify(JSON.parse(again))}\n`);
    expect((await readManifest(dir)).experiments[0]!.status).toBe("completed");
  });

  it("follows pending → running → completed | failed and rewrites the manifest each time", async () => {
    const dir = await testDir();
    const runs = makeRuns(3);
    const store = await ManifestStore.create(dir, { ...studyFields, runs });
    const [a, b, c] = runs as [(typeof runs)[0], (typeof runs)[0], (typeof runs)[0]];
    await store.markRunning(a.configHash, a.cycle);
    expect((await onDisk(dir)).experiments[0]).toMatchObject({ status: "running", attempts: 1 });
    await store.markCompleted(a.configHash, a.cycle, "experiments/0000/result.json");
    await store.markRunning(b.configHash, b.cycle);
    await store.markFailed(b.configHash, b.cycle, {
      errorType: "EngineCrash",
      errorMessage: "boom",
    });
    const manifest = await onDisk(dir);
    expect(manifest.experiments[0]).toMatchObject({
      status: "completed",
      result_file: "experiments/0000/result.json",
    });
    expect(manifest.experiments[0]!.completed_at).toMatch(/Z$/);
    expect(manifest.experiments[1]).toMatchObject({
      status: "failed",
      error_type: "EngineCrash",
      error_message: "boom",
    });
    expect(store.counts).toEqual({ pending: 1, running: 0, completed: 1, failed: 1 });
    expect(store.progressFraction).toBeCloseTo(1 / 3);
    expect(store.isComplete).toBe(false);
    expect(store.remaining().map((e) => e.config_hash)).toEqual([b.configHash, c.configHash]);
    await store.close();
    const closed = await onDisk(dir);
    expect(closed.status).toBe("interrupted");
    expect(closed.revision).toBe(5);
  });

  it("ends a study whose runs all finished as completed, partial or failed", async () => {
    for (const [outcomes, expected] of [
      [["completed", "completed"], "completed"],
      [["completed", "failed"], "partial"],
      [["failed", "failed"], "failed"],
    ] as const) {
      const dir = await testDir();
      const twoRuns = makeRuns(2);
      const store = await ManifestStore.create(dir, { ...studyFields, runs: twoRuns });
      for (const [index, run] of twoRuns.entries()) {
        await store.markRunning(run.configHash, run.cycle);
        if (outcomes[index] === "completed") {
          await store.markCompleted(run.configHash, run.cycle, `experiments/${index}/result.json`);
        } else {
          await store.markFailed(run.configHash, run.cycle, { errorType: "X", errorMessage: "x" });
        }
      }
      await store.close();
      const closed = await onDisk(dir);
      expect(closed.status, outcomes.join("+")).toBe(expected);
      expect(closed.completed_at).toMatch(/Z$/);
    }
  });

  it("rejects invalid transitions and unknown runs with clear errors, changing nothing", async () => {
    const dir = await testDir();
    const runs = makeRuns(2);
    const store = await ManifestStore.create(dir, { ...studyFields, runs });
    const a = runs[0]!;
    const before = await readFile(join(dir, MANIFEST_FILE_NAME), "utf8");
    const invalid = await rejectsWith(
      store.markCompleted(a.configHash, 1, "r.json"),
      "INVALID_TRANSITION",
    );
    expect(invalid.message).toContain(a.configHash);
    expect(invalid.message).toContain("pending");
    const unknown = await rejectsWith(store.markRunning("nope", 7), "UNKNOWN_RUN");
    expect(unknown.message).toContain("nope");
    expect(unknown.message).toContain("cycle 7");
    expect(await readFile(join(dir, MANIFEST_FILE_NAME), "utf8")).toBe(before);
    await store.markRunning(a.configHash, 1);
    await rejectsWith(store.markRunning(a.configHash, 1), "INVALID_TRANSITION");
    await store.markCompleted(a.configHash, 1, "r.json");
    await rejectsWith(
      store.markFailed(a.configHash, 1, { errorType: "x", errorMessage: "y" }),
      "INVALID_TRANSITION",
    );
    await store.close();
  });

  it("resumes: running and failed go back to pending, attempts keep counting, completed stays", async () => {
    const dir = await testDir();
    const runs = makeRuns(3);
    const first = await ManifestStore.create(dir, { ...studyFields, runs });
    await first.markRunning(runs[0]!.configHash, 1);
    await first.markCompleted(runs[0]!.configHash, 1, "a.json");
    await first.markRunning(runs[1]!.configHash, 1);
    await first.markFailed(runs[1]!.configHash, 1, { errorType: "E", errorMessage: "m" });
    await first.markRunning(runs[2]!.configHash, 1);
    await first.close();

    const second = await ManifestStore.open(dir);
    expect(second.counts).toEqual({ pending: 2, running: 0, completed: 1, failed: 0 });
    expect(second.remaining().map((e) => [e.config_hash, e.attempts])).toEqual([
      [runs[1]!.configHash, 1],
      [runs[2]!.configHash, 1],
    ]);
    for (const entry of second.remaining()) {
      await second.markRunning(entry.config_hash, entry.cycle);
      await second.markCompleted(entry.config_hash, entry.cycle, `${entry.config_hash}.json`);
    }
    expect(second.isComplete).toBe(true);
    expect(second.entry(runs[1]!.configHash, 1)?.attempts).toBe(2);
    await second.close();
    const manifest = await onDisk(dir);
    expect(manifest.status).toBe("completed");
    expect(manifest.completed_at).toMatch(/Z$/);
    // Opening a finished study again changes nothing.
    const third = await ManifestStore.open(dir);
    await third.close();
    expect(await onDisk(dir)).toEqual(manifest);
  });

  it("checks drift of the study file", async () => {
    const dir = await testDir();
    const store = await ManifestStore.create(dir, { ...studyFields, runs: makeRuns(1) });
    expect(store.checkDrift(studyFields.studyYamlHash)).toEqual({
      drifted: false,
      recorded: studyFields.studyYamlHash,
      current: studyFields.studyYamlHash,
    });
    expect(store.checkDrift("b".repeat(64)).drifted).toBe(true);
    await store.close();
  });

  it("refuses to create over an existing manifest and refuses duplicate runs", async () => {
    const dir = await testDir();
    const store = await ManifestStore.create(dir, { ...studyFields, runs: makeRuns(1) });
    await store.close();
    const exists = await rejectsWith(
      ManifestStore.create(dir, { ...studyFields, runs: makeRuns(1) }),
      "MANIFEST_WRITE_FAILED",
    );
    expect(exists.message).toContain("ManifestStore.open");
    const other = await testDir();
    const run = makeRuns(1)[0]!;
    await rejectsWith(
      ManifestStore.create(other, { ...studyFields, runs: [run, run] }),
      "CONFIG_INVALID",
    );
  });

  it("refuses a second opener in the same process with the holder named", async () => {
    const dir = await testDir();
    const store = await ManifestStore.create(dir, { ...studyFields, runs: makeRuns(1) });
    const error = await rejectsWith(ManifestStore.open(dir), "MANIFEST_LOCKED");
    expect(error.message).toContain(`pid ${process.pid}`);
    expect(error.message).toMatch(/since \d{4}-\d\d-\d\dT/);
    await store.close();
    const again = await ManifestStore.open(dir);
    await again.close();
  });

  it("keeps the previous manifest as study_manifest.json.bak", async () => {
    const dir = await testDir();
    const runs = makeRuns(2);
    const store = await ManifestStore.create(dir, { ...studyFields, runs });
    await store.markRunning(runs[0]!.configHash, 1);
    const backup = StudyManifest.parse(
      JSON.parse(await readFile(join(dir, MANIFEST_BACKUP_FILE_NAME), "utf8")),
    );
    expect(backup.revision).toBe(0);
    expect((await onDisk(dir)).revision).toBe(1);
    await store.close();
  });

  it("leaves no temp files behind", async () => {
    const dir = await testDir();
    const runs = makeRuns(5);
    const store = await ManifestStore.create(dir, { ...studyFields, runs });
    for (const run of runs) {
      await store.markRunning(run.configHash, run.cycle);
      await store.markCompleted(run.configHash, run.cycle, "r.json");
    }
    await store.close();
    expect((await readdir(dir)).sort()).toEqual(
      [JOURNAL_FILE_NAME, MANIFEST_FILE_NAME, MANIFEST_BACKUP_FILE_NAME].sort(),
    );
  });
});

describe("large studies (journal mode)", () => {
  const journalMode = { snapshotEveryTransitionUpTo: 0, snapshotIntervalMs: 60_000 };

  it("appends transitions to the journal; readManifest replays them; close makes the manifest exact", async () => {
    const dir = await testDir();
    const runs = makeRuns(20);
    const store = await ManifestStore.create(dir, { ...studyFields, runs, ...journalMode });
    for (const run of runs.slice(0, 5)) {
      await store.markRunning(run.configHash, run.cycle);
      await store.markCompleted(run.configHash, run.cycle, `${run.configHash}.json`);
    }
    expect((await onDisk(dir)).revision).toBe(0); // not yet folded
    const current = await readManifest(dir);
    expect(current.revision).toBe(10);
    expect(current.experiments.filter((e) => e.status === "completed")).toHaveLength(5);
    expect(current).toEqual(store.manifest);
    await store.close();
    const closed = await onDisk(dir);
    expect(closed.revision).toBe(11);
    expect(closed).toEqual(await readManifest(dir));
  });

  it("folds the journal into the manifest within the snapshot interval", async () => {
    const dir = await testDir();
    const runs = makeRuns(10);
    const store = await ManifestStore.create(dir, {
      ...studyFields,
      runs,
      snapshotEveryTransitionUpTo: 0,
      snapshotIntervalMs: 50,
    });
    await store.markRunning(runs[0]!.configHash, 1);
    await expect.poll(async () => (await onDisk(dir)).revision, { timeout: 5000 }).toBe(1);
    await store.close();
  });

  it("compacts the journal once it passes the size limit, and stays readable", async () => {
    const dir = await testDir();
    const runs = makeRuns(100);
    const store = await ManifestStore.create(dir, {
      ...studyFields,
      runs,
      snapshotEveryTransitionUpTo: 0,
      snapshotIntervalMs: 0,
      journalCompactBytes: 2000,
    });
    for (const run of runs) {
      await store.markRunning(run.configHash, run.cycle);
      await store.markCompleted(run.configHash, run.cycle, "r.json");
      await store.flush();
    }
    const journal = await readFile(join(dir, JOURNAL_FILE_NAME), "utf8");
    expect(journal.length).toBeLessThan(4000);
    expect((await readManifest(dir)).experiments.every((e) => e.status === "completed")).toBe(true);
    await store.close();
    const reopened = await ManifestStore.open(dir);
    expect(reopened.isComplete).toBe(true);
    await reopened.close();
  }, 30_000);

  it("rebuilds a manifest that is behind the journal on the next open", async () => {
    const dir = await testDir();
    const runs = makeRuns(6);
    const store = await ManifestStore.create(dir, { ...studyFields, runs, ...journalMode });
    await store.markRunning(runs[0]!.configHash, 1);
    await store.markCompleted(runs[0]!.configHash, 1, "r.json");
    // Simulate a crash: an older manifest on disk with the journal ahead of it.
    const stale = await readFile(join(dir, MANIFEST_FILE_NAME), "utf8");
    await store.close();
    await writeFile(join(dir, MANIFEST_FILE_NAME), stale);
    const journal = await readFile(join(dir, JOURNAL_FILE_NAME), "utf8");
    expect(journal.split("\n").length).toBeGreaterThan(2);
    const reopened = await ManifestStore.open(dir, journalMode);
    expect(reopened.entry(runs[0]!.configHash, 1)?.status).toBe("completed");
    await reopened.close();
  });
});
