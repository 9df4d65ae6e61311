import { mkdir, readdir, readFile, symlink } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { llemErrorOf, makeRuns, studyFields, testDir } from "../test/helpers.js";
import { MANIFEST_FILE_NAME, ManifestStore } from "./index.js";

describe("ManifestStore.writeFileFenced", () => {
  it("writes inside the study directory, creating directories, and returns the path the manifest records", async () => {
    const dir = await testDir();
    const runs = makeRuns(2);
    const store = await ManifestStore.create(dir, { ...studyFields, runs });
    const attempt = await store.markRunning(runs[0]!.configHash, 1);
    expect(attempt).toBe(1);
    const path = await store.writeFileFenced(
      `experiments/0000_c1/attempt-${attempt}/result.json`,
      '{"ok":true}\n',
      { run: { configHash: runs[0]!.configHash, cycle: 1 } },
    );
    expect(path).toBe("experiments/0000_c1/attempt-1/result.json");
    expect(await readFile(join(dir, path), "utf8")).toBe('{"ok":true}\n');
    // An absolute path inside the study directory is recorded relative to it.
    expect(await store.writeFileFenced(join(dir, "study_summary.json"), "{}\n")).toBe(
      "study_summary.json",
    );
    await store.markCompleted(runs[0]!.configHash, 1, path);
    expect(store.entry(runs[0]!.configHash, 1)?.result_file).toBe(path);
    await store.close();
  });

  it("refuses paths outside the study directory and the store's own files, writing nothing", async () => {
    const parent = await testDir();
    const dir = join(parent, "study");
    const outside = join(parent, "outside");
    await mkdir(outside);
    const store = await ManifestStore.create(dir, { ...studyFields, runs: makeRuns(1) });
    await symlink(outside, join(dir, "linked"));
    const manifest = await readFile(join(dir, MANIFEST_FILE_NAME), "utf8");
    for (const [path, reason] of [
      ["../outside/result.json", "outside_study_dir"],
      [join(outside, "result.json"), "outside_study_dir"],
      ["linked/result.json", "outside_study_dir"],
      [".", "outside_study_dir"],
      [MANIFEST_FILE_NAME, "reserved"],
      ["study_manifest.journal.ndjson", "reserved"],
      ["study_manifest.json.lock/x", "reserved"],
      ["study_manifest.lock-intent.1.json", "reserved"],
    ] as const) {
      const error = await llemErrorOf(store.writeFileFenced(path, "x"));
      expect(error.code, path).toBe("MANIFEST_WRITE_FAILED");
      expect(error.details.reason, path).toBe(reason);
      expect(error.message).toContain(path);
    }
    expect(await readdir(outside)).toEqual([]);
    expect(await readFile(join(dir, MANIFEST_FILE_NAME), "utf8")).toBe(manifest);
    await store.close();
  });

  it("with `run`, refuses a run that is not running", async () => {
    const dir = await testDir();
    const runs = makeRuns(1);
    const store = await ManifestStore.create(dir, { ...studyFields, runs });
    const run = { configHash: runs[0]!.configHash, cycle: 1 };
    const pending = await llemErrorOf(store.writeFileFenced("r.json", "x", { run }));
    expect(pending.code).toBe("INVALID_TRANSITION");
    expect(
      (await llemErrorOf(store.writeFileFenced("r.json", "x", { run: { ...run, cycle: 9 } }))).code,
    ).toBe("UNKNOWN_RUN");
    expect(await readdir(dir)).not.toContain("r.json");
    await store.close();
  });

  it("resolves markRunning with the attempt recorded, counting re-runs", async () => {
    const dir = await testDir();
    const runs = makeRuns(1);
    const first = await ManifestStore.create(dir, { ...studyFields, runs });
    expect(await first.markRunning(runs[0]!.configHash, 1)).toBe(1);
    await first.requeue(runs[0]!.configHash, 1);
    expect(await first.markRunning(runs[0]!.configHash, 1)).toBe(2);
    await first.close();
    const second = await ManifestStore.open(dir);
    expect(await second.markRunning(runs[0]!.configHash, 1)).toBe(3);
    await second.close();
  });
});
