import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { LlemError } from "@llem/schema";
import { describe, expect, it } from "vitest";
import { type FsOperation, failingFs } from "../test/failing-fs.js";
import { makeRuns, studyFields, testDir } from "../test/helpers.js";
import {
  JOURNAL_FILE_NAME,
  MANIFEST_FILE_NAME,
  ManifestStore,
  readManifest,
  writeFileAtomic,
} from "./index.js";

/** A switchable failure: set `failing` to the operations that should throw. */
function switchableFs(errno = "ENOSPC") {
  const control = { failing: new Set<string>() };
  const fs = failingFs((op: FsOperation, name: string) => {
    return control.failing.has(op) || control.failing.has(`${op}:${name}`);
  }, errno);
  return { control, fs };
}

async function snapshotOf(dir: string) {
  return {
    manifest: await readFile(join(dir, MANIFEST_FILE_NAME), "utf8"),
    journal: await readFile(join(dir, JOURNAL_FILE_NAME), "utf8"),
    files: (await readdir(dir)).sort(),
  };
}

async function expectWriteFailed(promise: Promise<unknown>, errno: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(LlemError.hasCode(error, "MANIFEST_WRITE_FAILED"), String(error)).toBe(true);
  expect((error as LlemError).message).toContain(errno);
}

describe("a write that fails", () => {
  it.each([
    ["writing the manifest's temp file", "writeFile"],
    ["fsyncing the manifest's temp file", "sync"],
    ["renaming over the manifest", `rename:${MANIFEST_FILE_NAME}`],
  ])(
    "while %s leaves the previous manifest intact and rejects (small study)",
    async (_label, failing) => {
      const dir = await testDir();
      const runs = makeRuns(3);
      const { control, fs } = switchableFs();
      const store = await ManifestStore.create(dir, { ...studyFields, runs, fs });
      await store.markRunning(runs[0]!.configHash, 1);
      const before = await snapshotOf(dir);
      const counts = store.counts;

      control.failing.add(failing);
      await expectWriteFailed(store.markCompleted(runs[0]!.configHash, 1, "r.json"), "ENOSPC");
      expect(await snapshotOf(dir)).toEqual(before); // manifest, journal and no temp files
      expect(store.counts).toEqual(counts);
      expect((await readManifest(dir)).experiments[0]!.status).toBe("running");

      control.failing.clear(); // space freed: the same call now succeeds
      await store.markCompleted(runs[0]!.configHash, 1, "r.json");
      expect((await readManifest(dir)).experiments[0]!.status).toBe("completed");
      await store.close();
    },
  );

  it("while appending to the journal (large study) leaves both files intact and rejects", async () => {
    const dir = await testDir();
    const runs = makeRuns(3);
    const { control, fs } = switchableFs();
    const store = await ManifestStore.create(dir, {
      ...studyFields,
      runs,
      fs,
      snapshotEveryTransitionUpTo: 0,
      snapshotIntervalMs: 60_000,
    });
    await store.markRunning(runs[0]!.configHash, 1);
    const before = await snapshotOf(dir);
    const readBefore = await readManifest(dir);

    control.failing.add("datasync");
    await expectWriteFailed(store.markCompleted(runs[0]!.configHash, 1, "r.json"), "ENOSPC");
    expect(await snapshotOf(dir)).toEqual(before);
    expect(await readManifest(dir)).toEqual(readBefore);
    expect(store.entry(runs[0]!.configHash, 1)?.status).toBe("running");

    control.failing.clear();
    await store.markCompleted(runs[0]!.configHash, 1, "r.json");
    await store.close();
    expect((await readManifest(dir)).experiments[0]!.status).toBe("completed");
  });

  it("in a read-only directory (EROFS) surfaces the error at create and writes nothing", async () => {
    const dir = await testDir();
    const { control, fs } = switchableFs("EROFS");
    control.failing.add("open");
    const error = await ManifestStore.create(join(dir, "study"), {
      ...studyFields,
      runs: makeRuns(2),
      fs,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(LlemError.hasCode(error, "MANIFEST_WRITE_FAILED"), String(error)).toBe(true);
    expect((error as Error).message).toContain("EROFS");
    expect((await readdir(join(dir, "study"))).filter((name) => !name.endsWith(".lock"))).toEqual(
      [],
    );
  });

  it("writeFileAtomic removes its temp file and keeps the old content", async () => {
    const dir = await testDir();
    const path = join(dir, "result.json");
    await writeFileAtomic(path, "old\n");
    const fs = failingFs((op) => op === "sync");
    await expect(writeFileAtomic(path, "new\n", { fs })).rejects.toMatchObject({
      code: "MANIFEST_WRITE_FAILED",
    });
    expect(await readFile(path, "utf8")).toBe("old\n");
    expect(await readdir(dir)).toEqual(["result.json"]);
  });
});
