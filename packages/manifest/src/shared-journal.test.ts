import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeRuns, studyFields, testDir } from "../test/helpers.js";
import { JOURNAL_FILE_NAME, ManifestStore, readManifest } from "./index.js";

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
});
