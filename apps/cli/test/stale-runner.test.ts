/**
 * Fencing, the study runner's side (issue 14): a runner SIGSTOPped past the lock's stale period
 * while a second runner takes the study over must, once continued, write nothing into the study —
 * no result.json over the one the manifest records, no study_summary.json that contradicts the
 * manifest. Real processes: two `llem run` CLIs, the test-only fake experiment worker, a 2 s stale
 * period (LLEM_LOCK_STALE_MS).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { tempDir, waitFor } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import {
  type LiveCli,
  type ManifestView,
  readStudyManifest,
  startCli,
  tinyStudyYaml,
  workerFault,
  writeText,
} from "./helpers.js";

const STALE_MS = 2000;

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function runnerEnv(delayMs: number): NodeJS.ProcessEnv {
  return workerFault("fake", {
    LLEM_TEST_WORKER_DELAY_MS: String(delayMs),
    LLEM_LOCK_STALE_MS: String(STALE_MS),
  });
}

/** Starts `llem run` and waits until its first experiment runs; returns it and the study dir. */
async function startStalledRunner(dir: string): Promise<{ a: LiveCli; studyDir: string }> {
  const file = await writeText(dir, "study.yaml", tinyStudyYaml({ batchSizes: [1, 2, 3] }));
  const a = startCli(["run", file, "--results-dir", join(dir, "results"), "--json"], {
    env: runnerEnv(4000),
  });
  const started = await waitFor(() => a.events().find((event) => event.type === "run_started"), {
    timeoutMs: 60_000,
    what: "the first runner's first run",
  });
  expect(started).toMatchObject({ attempt: 1 });
  const studyDir = a.events().find((event) => event.type === "study_started")?.study_dir as string;
  a.child.kill("SIGSTOP");
  // Stopped past the stale period: its lock may now be taken over.
  await waitFor(
    async () =>
      Date.now() - (await stat(join(studyDir, "study_manifest.json.lock"))).mtimeMs >
      STALE_MS + 500,
    { timeoutMs: 30_000, what: "the stopped runner's lock to go stale" },
  );
  return { a, studyDir };
}

/** Every file a completed run's manifest entry names, with its hash. */
function recordedFiles(studyDir: string, manifest: ManifestView): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of manifest.experiments) {
    if (entry.result_file) files.set(entry.result_file, sha256(join(studyDir, entry.result_file)));
  }
  return files;
}

/** result.json files under experiments/ (whoever wrote them). */
async function resultFilesOnDisk(studyDir: string): Promise<string[]> {
  const names = await readdir(join(studyDir, "experiments"));
  return names
    .filter((name) => existsSync(join(studyDir, "experiments", name, "result.json")))
    .map((name) => `experiments/${name}/result.json`)
    .sort();
}

describe("a runner that lost the study writes nothing to it", { timeout: 180_000 }, () => {
  it("continued after the second runner finished the study (stopped before the takeover)", async () => {
    const dir = await tempDir();
    const { a, studyDir } = await startStalledRunner(dir);
    try {
      const b = startCli(["run", "--resume", studyDir, "--json"], { env: runnerEnv(0) });
      const bDone = await b.exited;
      expect(bDone.code, bDone.stderr).toBe(0);
      const manifest = await readStudyManifest(studyDir);
      expect(manifest.experiments.map((entry) => entry.status)).toEqual([
        "completed",
        "completed",
        "completed",
      ]);
      // The run the stopped runner had started was re-run as attempt 2, in a directory of its own.
      expect(manifest.experiments[0]?.result_file).toMatch(/_a2\/result\.json$/);
      const files = recordedFiles(studyDir, manifest);
      const summaryFile = join(studyDir, "study_summary.json");
      const summaryHash = sha256(summaryFile);

      a.child.kill("SIGCONT");
      const aDone = await a.exited;
      expect(aDone.code, aDone.stderr).toBe(1);
      expect(aDone.stderr).toMatch(/no longer holds the lock/);

      // Nothing the stale runner did reached the study: same manifest, same files, same summary.
      expect(await readStudyManifest(studyDir)).toEqual(manifest);
      expect(recordedFiles(studyDir, manifest)).toEqual(files);
      expect(await resultFilesOnDisk(studyDir)).toEqual([...files.keys()].sort());
      expect(sha256(summaryFile)).toBe(summaryHash);
      const summary = JSON.parse(readFileSync(summaryFile, "utf8"));
      expect(summary).toMatchObject({ status: "completed", counts: { completed: 3 } });
    } finally {
      a.child.kill("SIGKILL");
    }
  });

  it("continued while the second runner is running the study (during the takeover)", async () => {
    const dir = await tempDir();
    const { a, studyDir } = await startStalledRunner(dir);
    try {
      const b = startCli(["run", "--resume", studyDir, "--json"], { env: runnerEnv(3000) });
      await waitFor(() => b.events().find((event) => event.type === "run_started"), {
        timeoutMs: 60_000,
        what: "the second runner's first run",
      });
      a.child.kill("SIGCONT");
      const aDone = await a.exited;
      expect(aDone.code, aDone.stderr).toBe(1);
      expect(aDone.stderr).toMatch(/no longer holds the lock/);
      // The second runner is still at work: the stale one left no summary and no result behind.
      expect(b.child.exitCode).toBeNull();
      expect(existsSync(join(studyDir, "study_summary.json"))).toBe(false);
      const during = await readStudyManifest(studyDir);
      expect(await resultFilesOnDisk(studyDir)).toEqual(
        [...recordedFiles(studyDir, during).keys()].sort(),
      );
      expect(during.experiments[0]?.attempts).toBe(2);

      const bDone = await b.exited;
      expect(bDone.code, bDone.stderr).toBe(0);
      await sleep(200);
      const manifest = await readStudyManifest(studyDir);
      expect(manifest.experiments.every((entry) => entry.status === "completed")).toBe(true);
      expect(manifest.experiments[0]?.result_file).toMatch(/_a2\/result\.json$/);
      expect(await resultFilesOnDisk(studyDir)).toEqual(
        [...recordedFiles(studyDir, manifest).keys()].sort(),
      );
      const summary = JSON.parse(readFileSync(join(studyDir, "study_summary.json"), "utf8"));
      expect(summary).toMatchObject({ status: "completed", counts: { completed: 3 } });
    } finally {
      a.child.kill("SIGKILL");
    }
  });
});
