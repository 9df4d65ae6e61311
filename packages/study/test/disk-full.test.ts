/**
 * A disk that fills up mid-study, for real: the results dir is a 1 MiB tmpfs (mounting needs
 * root, as CI and the dev machines run; elsewhere these tests skip and say so), and the fake
 * engine's result is 2 MiB, so writing result.json fails with ENOSPC.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readManifest } from "@llem/manifest";
import { LlemError } from "@llem/schema";
import { afterAll, describe, expect, it } from "vitest";
import { runStudy } from "../src/run-study.js";
import { readStudyStatus } from "../src/status.js";
import { loadStudy, studyFixture, workerEnv } from "./helpers.js";

/** A 1 MiB tmpfs, or undefined where this process may not mount one. */
function smallFileSystem(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), "llem-tmpfs-"));
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]).status === 0;
  if (mounted) return dir;
  rmSync(dir, { recursive: true, force: true });
  return undefined;
}

const small = smallFileSystem();
afterAll(() => {
  if (!small) return;
  execFileSync("umount", [small]);
  rmSync(small, { recursive: true, force: true });
});

describe.skipIf(!small)(
  `a disk that fills up (real ENOSPC on a 1 MiB tmpfs${small ? "" : "; skipped: cannot mount one here"})`,
  { timeout: 60_000 },
  () => {
    it("the study stops failed, not interrupted; the first failure is reported and recorded", async () => {
      const fixture = await studyFixture("sweep: {llamacpp.batch_size: [1, 2, 3]}\n");
      const resultsDir = join(small!, "results");
      mkdirSync(resultsDir);
      const loaded = await loadStudy(fixture.file);
      const error = await runStudy(loaded, {
        resultsDir,
        env: workerEnv(fixture, {
          LLEM_TEST_WORKER_FAULT: "fake",
          LLEM_TEST_WORKER_RESULT_PAD_BYTES: String(2 << 20),
        }),
      }).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      // The error is the first failure: result.json could not be written (not the summary's).
      expect(LlemError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(/result\.json.*ENOSPC/);
      expect((error as Error).message).not.toMatch(/study_summary\.json: ENOSPC/);

      const studyDir = join(resultsDir, execFileSync("ls", [resultsDir]).toString().trim());
      const manifest = await readManifest(studyDir);
      const [first, ...rest] = manifest.experiments;
      expect(first).toMatchObject({ status: "failed", error_type: "MANIFEST_WRITE_FAILED" });
      expect(first?.error_message).toMatch(/result\.json.*ENOSPC/);
      // The study stopped there: a full disk fails every run after it the same way.
      expect(rest.map((entry) => entry.status)).toEqual(["pending", "pending"]);

      const summary = JSON.parse(readFileSync(join(studyDir, "study_summary.json"), "utf8"));
      expect(summary.status).toBe("failed");
      expect(summary.failures[0].error_message).toMatch(/ENOSPC/);
      // What `llem status` shows: failed, as the summary says, not "interrupted".
      expect((await readStudyStatus(studyDir)).status).toBe("failed");
    });
  },
);
