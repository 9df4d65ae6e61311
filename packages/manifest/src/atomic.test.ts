import { readdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { LlemError } from "@llem/schema";
import { describe, expect, it } from "vitest";
import { failingFs } from "../test/failing-fs.js";
import { llemErrorOf, testDir } from "../test/helpers.js";
import { makeDirectory, sweepTempFiles, writeFileAtomic, writeJsonAtomic } from "./index.js";

describe("writeFileAtomic", () => {
  it("replaces the file and leaves nothing else behind", async () => {
    const dir = await testDir();
    const path = join(dir, "result.json");
    await writeFileAtomic(path, "old\n");
    await writeJsonAtomic(path, { a: 1 });
    expect(await readFile(path, "utf8")).toBe('{\n  "a": 1\n}\n');
    expect(await readdir(dir)).toEqual(["result.json"]);
  });

  it("names the file and the errno of a failed write, keeping the system error as cause", async () => {
    const dir = await testDir();
    const path = join(dir, "result.json");
    await writeFileAtomic(path, "old\n");
    const error = await llemErrorOf(
      writeFileAtomic(path, "new\n", { fs: failingFs((op) => op === "writeFile") }),
    );
    expect(error.code).toBe("MANIFEST_WRITE_FAILED");
    expect(error.message).toContain(path);
    expect(error.message).toContain("ENOSPC");
    expect(error.message).toContain("the disk is full");
    expect(error.message).toContain("previous version of the file is intact");
    expect(error.details).toMatchObject({ file: path, errno_code: "ENOSPC" });
    expect((error.cause as NodeJS.ErrnoException).code).toBe("ENOSPC");
    expect(await readFile(path, "utf8")).toBe("old\n");
    expect(await readdir(dir)).toEqual(["result.json"]);
  });

  it("names the file when its directory does not exist", async () => {
    const dir = await testDir();
    const path = join(dir, "missing", "result.json");
    const error = await llemErrorOf(writeFileAtomic(path, "x"));
    expect(error.message).toContain(path);
    expect(error.details.errno_code).toBe("ENOENT");
  });

  it("rethrows the error of beforeRename as it is, and replaces nothing", async () => {
    const dir = await testDir();
    const path = join(dir, "study_summary.json");
    await writeFileAtomic(path, "theirs\n");
    const fence = new LlemError("MANIFEST_LOCK_COMPROMISED", "the lock is gone");
    let ran = 0;
    const thrown = await writeFileAtomic(path, "stale\n", {
      beforeRename: () => {
        ran++;
        throw fence;
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(thrown).toBe(fence);
    expect(ran).toBe(1);
    expect(await readFile(path, "utf8")).toBe("theirs\n");
    expect(await readdir(dir)).toEqual(["study_summary.json"]);
    // The hook runs once the content is complete: the backup is not touched either.
    const backup = join(dir, "study_summary.json.bak");
    await writeFile(backup, "backup\n");
    await llemErrorOf(
      writeFileAtomic(path, "stale\n", {
        keepPreviousAs: backup,
        beforeRename: () => Promise.reject(fence),
      }),
    );
    expect(await readFile(backup, "utf8")).toBe("backup\n");
  });

  it("says the new version is in place when only flushing the directory fails", async () => {
    const dir = await testDir();
    const path = join(dir, "result.json");
    await writeFileAtomic(path, "old\n");
    const fs = failingFs((op, name) => op === "sync" && name === basename(dir), "EIO");
    const error = await llemErrorOf(writeFileAtomic(path, "new\n", { fs }));
    expect(error.message).toContain(path);
    expect(error.message).toContain("EIO");
    expect(error.message).toContain("new version is in place");
    expect(error.message).not.toContain("previous version of the file is intact");
    expect(error.details).toMatchObject({ errno_code: "EIO", phase: "fsync-directory" });
    expect(await readFile(path, "utf8")).toBe("new\n");
  });
});

describe("sweepTempFiles", () => {
  it("removes only the temp files of the names it is given, and reports what it removed", async () => {
    const dir = await testDir();
    await writeFile(join(dir, ".result.json.123.abcdef01.tmp"), "x");
    await writeFile(join(dir, ".other.json.123.abcdef01.tmp"), "x");
    await writeFile(join(dir, "result.json"), "x");
    expect(await sweepTempFiles(dir, ["result.json"])).toEqual([".result.json.123.abcdef01.tmp"]);
    expect((await readdir(dir)).sort()).toEqual([".other.json.123.abcdef01.tmp", "result.json"]);
  });
});

describe("makeDirectory", () => {
  it("creates missing parents and accepts a directory that exists", async () => {
    const dir = await testDir();
    await makeDirectory(join(dir, "a", "b", "c"));
    await makeDirectory(join(dir, "a", "b", "c"));
    expect(await readdir(join(dir, "a", "b"))).toEqual(["c"]);
  });

  it("names the directory and the errno when a part of the path is a file", async () => {
    const dir = await testDir();
    await writeFile(join(dir, "file"), "x");
    const error = await llemErrorOf(makeDirectory(join(dir, "file", "sub")));
    expect(error.message).toContain(join(dir, "file", "sub"));
    expect(error.details.errno_code).toBe("ENOTDIR");
  });
});
