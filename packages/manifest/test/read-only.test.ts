import { execFileSync, spawn } from "node:child_process";
import { chmod, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { ManifestStore } from "../src/index.js";
import { distEntry, fixturesDir, llemErrorOf, makeRuns, studyFields, testDir } from "./helpers.js";

/**
 * A real read-only file system: a small tmpfs holding `results/`, remounted read-only. Needs root
 * (CAP_SYS_ADMIN); undefined where mounting is not allowed.
 */
async function readOnlyMount(): Promise<string | undefined> {
  const dir = await testDir();
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", dir], { stdio: "ignore" });
  } catch {
    return undefined;
  }
  onTestFinished(() => {
    execFileSync("umount", [dir], { stdio: "ignore" });
  });
  await mkdir(join(dir, "results"));
  execFileSync("mount", ["-o", "remount,ro", dir], { stdio: "ignore" });
  return dir;
}

describe("a study directory that cannot be written", () => {
  it("on a read-only file system is reported as EROFS, naming the directory, not as ENOENT", async (context) => {
    const mount = await readOnlyMount();
    if (mount === undefined) return context.skip("mounting a tmpfs needs root");
    // A sub-path that does not exist yet, below a read-only directory (Node's recursive mkdir
    // reports ENOENT there), and the existing read-only directory itself.
    for (const studyDir of [join(mount, "results", "sweep", "run-1"), join(mount, "results")]) {
      const error = await llemErrorOf(
        ManifestStore.create(studyDir, { ...studyFields, runs: makeRuns(1) }),
      );
      expect(error.code).toBe("MANIFEST_WRITE_FAILED");
      expect(error.message, error.message).toContain("EROFS");
      expect(error.message).toContain("read-only");
      expect(error.message).not.toContain("ENOENT");
      expect(error.message).toContain(studyDir);
      expect(error.details.errno_code).toBe("EROFS");
    }
    expect(await readdir(join(mount, "results"))).toEqual([]);
  });

  it("without permission is reported as EACCES, naming the directory", async (context) => {
    if (process.getuid?.() !== 0) return context.skip("needs root to run a child as another user");
    const dir = await testDir();
    const results = join(dir, "results");
    await mkdir(results);
    await chmod(results, 0o555);
    await chmod(dir, 0o755);
    for (const studyDir of [join(results, "sweep", "run-1"), results]) {
      // An unprivileged process (root ignores permission bits): the fixture drops to nobody.
      const child = spawn(
        process.execPath,
        [join(fixturesDir, "create-study.mjs"), studyDir, "65534"],
        { cwd: "/", stdio: ["ignore", "pipe", "pipe"] },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
      });
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
      });
      await new Promise((resolve) => child.on("close", resolve));
      expect(stdout, `${stderr} (${distEntry})`).not.toBe("");
      const outcome = JSON.parse(stdout) as {
        code: string;
        message: string;
        details: Record<string, unknown>;
      };
      expect(outcome.code).toBe("MANIFEST_WRITE_FAILED");
      expect(outcome.message, outcome.message).toContain("EACCES");
      expect(outcome.message).toContain("permission");
      expect(outcome.message).toContain(studyDir);
      expect(outcome.details.errno_code).toBe("EACCES");
    }
    expect(await readdir(results)).toEqual([]);
  });

  it("a read-only sub-path of a study is reported as EROFS by writeFileFenced, naming the directory", async (context) => {
    const dir = await testDir();
    const store = await ManifestStore.create(dir, { ...studyFields, runs: makeRuns(1) });
    try {
      await mkdir(join(dir, "experiments"));
      try {
        execFileSync(
          "mount",
          ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", join(dir, "experiments")],
          {
            stdio: "ignore",
          },
        );
      } catch {
        return context.skip("mounting a tmpfs needs root");
      }
      onTestFinished(() => {
        execFileSync("umount", [join(dir, "experiments")], { stdio: "ignore" });
      });
      const error = await llemErrorOf(
        store.writeFileFenced("experiments/0000_c1/attempt-1/result.json", "{}"),
      );
      expect(error.code).toBe("MANIFEST_WRITE_FAILED");
      expect(error.message).toContain("EROFS");
      expect(error.message).toContain(join(dir, "experiments", "0000_c1", "attempt-1"));
      expect(error.details.errno_code).toBe("EROFS");
      // Nothing went wrong for the store itself: it still records transitions.
      await store.markRunning(store.entries[0]!.config_hash, 1);
    } finally {
      await store.close();
    }
  });
});
