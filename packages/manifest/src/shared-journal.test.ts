import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeRuns, studyFields, testDir } from "../test/helpers.js";
import { nodeFs } from "./fs-layer.js";
import {
  JOURNAL_FILE_NAME,
  MANIFEST_FILE_NAME,
  ManifestStore,
  PRETTY_MANIFEST_MAX_RUNS,
  readManifest,
} from "./index.js";
import { readManifestRevision } from "./shared-sync.js";

describe("shared mode on the journal path (large studies)", () => {
  it("two workers interleave claims, see each other's records across compactions, and finish exactly", async () => {
    const dir = await testDir();
    const runs = makeRuns(60, 20);
    const journalMode = {
      snapshotEveryTransitionUpTo: 0,
      snapshotIntervalMs: 0,
      journalCompactBytes: 1500,
    };
    const creator = await ManifestStore.create(dir, { ...studyFields, runs, ...journalMode });
    await creator.close();
    const workers = ["a", "b"].map((workerId) =>
      ManifestStore.open(dir, { mode: "shared", workerId, ...journalMode }),
    );
    const [a, b] = await Promise.all(workers);
    const completedBy = new Map<string, string>();
    let turn = 0;
    for (;;) {
      const worker = turn++ % 3 === 0 ? b! : a!;
      const run = await worker.claimNext();
      if (run === null) break;
      const key = `${run.config_hash} ${run.cycle}`;
      expect(completedBy.has(key), key).toBe(false);
      await worker.markCompleted(run.config_hash, run.cycle, `${worker.workerId}.json`);
      completedBy.set(key, worker.workerId);
    }
    expect(completedBy.size).toBe(60);
    await a!.close();
    await b!.close();
    // The journal was compacted along the way, yet every record reached the manifest.
    expect((await readFile(join(dir, JOURNAL_FILE_NAME), "utf8")).length).toBeLessThan(3500);
    const manifest = await readManifest(dir);
    expect(manifest.status).toBe("completed");
    for (const entry of manifest.experiments) {
      expect(entry.result_file).toBe(
        `${completedBy.get(`${entry.config_hash} ${entry.cycle}`)}.json`,
      );
      expect(entry.attempts).toBe(1);
    }
    const onDisk = JSON.parse(await readFile(join(dir, "study_manifest.json"), "utf8"));
    expect(onDisk).toEqual(manifest);
  }, 30_000);

  it("folds the journal into the manifest within the interval even when no further call comes", async () => {
    const dir = await testDir();
    const runs = makeRuns(5);
    const options = { snapshotEveryTransitionUpTo: 0, snapshotIntervalMs: 100 };
    const creator = await ManifestStore.create(dir, { ...studyFields, runs, ...options });
    await creator.close();
    const worker = await ManifestStore.open(dir, { mode: "shared", workerId: "w", ...options });
    await worker.claimNext();
    await worker.claimNext();
    const revision = worker.revision;
    const onDiskRevision = async () =>
      (JSON.parse(await readFile(join(dir, "study_manifest.json"), "utf8")) as { revision: number })
        .revision;
    await expect.poll(onDiskRevision, { timeout: 10_000 }).toBe(revision);
    await worker.close();
  }, 30_000);

  it("reads the revision of a compact manifest (above 1,000 runs), so compaction keeps the journal small and valid", async () => {
    const dir = await testDir();
    const runs = makeRuns(PRETTY_MANIFEST_MAX_RUNS + 1, 50);
    const options = { snapshotIntervalMs: 0, journalCompactBytes: 1500 };
    const creator = await ManifestStore.create(dir, { ...studyFields, runs, ...options });
    await creator.close();
    const startRevision = creator.revision;
    const manifestText = await readFile(join(dir, MANIFEST_FILE_NAME), "utf8");
    expect(manifestText).toBe(`${JSON.stringify(JSON.parse(manifestText))}\n`); // compact
    const [a, b] = await Promise.all(
      ["a", "b"].map((workerId) =>
        ManifestStore.open(dir, { mode: "shared", workerId, ...options }),
      ),
    );
    // Each call follows one of the other worker, which rewrote the manifest: every call must read
    // the revision of a manifest it did not write before compacting the journal against it.
    for (let turn = 0; turn < 20; turn++) {
      const claimedByA = await a!.claimNext();
      const claimedByB = await b!.claimNext();
      await a!.markCompleted(claimedByA!.config_hash, claimedByA!.cycle, "a.json");
      await b!.markCompleted(claimedByB!.config_hash, claimedByB!.cycle, "b.json");
    }
    const journal = await readFile(join(dir, JOURNAL_FILE_NAME), "utf8");
    expect(journal.length).toBeLessThan(3500);
    const manifest = await readManifest(dir);
    expect(manifest.revision).toBe(startRevision + 80);
    expect(manifest.experiments.filter((e) => e.status === "completed")).toHaveLength(40);
    await a!.close();
    await b!.close();
    expect(JSON.parse(await readFile(join(dir, MANIFEST_FILE_NAME), "utf8"))).toEqual(
      await readManifest(dir),
    );
  }, 60_000);

  it("reads the manifest's revision in both layouts, and past a head of more than 4 KiB", async () => {
    for (const [label, runs, studyName] of [
      ["pretty", 3, "short"],
      ["compact", PRETTY_MANIFEST_MAX_RUNS + 1, "short"],
      ["long header", 3, "n".repeat(5000)],
    ] as const) {
      const dir = await testDir();
      const store = await ManifestStore.create(dir, {
        ...studyFields,
        studyName,
        runs: makeRuns(runs),
      });
      const run = store.entries[0]!;
      await store.markRunning(run.config_hash, run.cycle);
      await store.close();
      expect(await readManifestRevision(dir, nodeFs), label).toBe(
        (await readManifest(dir)).revision,
      );
    }
  });
});
