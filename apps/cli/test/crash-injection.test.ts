import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { seededRandom, tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import {
  readStudyManifest,
  runCli,
  startCli,
  tinyStudyYaml,
  workerFault,
  writeText,
} from "./helpers.js";

/** LLEM_CRASH_KILLS raises the count for a longer opt-in run. */
const KILLS = Number(process.env.LLEM_CRASH_KILLS ?? 10);

interface Stamp {
  startedAt: string | null;
  completedAt: string | null;
  resultSha: string;
  /** Worker starts logged when the run was first seen completed. */
  startsSeen: number;
}

describe("crash injection: SIGKILL the runner at random moments, then --resume", () => {
  it(`after ${KILLS} kills every run completes, no completed run is re-run, the manifest always parses`, async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "study.yaml",
      tinyStudyYaml({ name: "crash", batchSizes: [1, 2, 3, 4], cycles: 2, order: "interleave" }),
    );
    const resultsDir = join(dir, "results");
    const workerLog = join(dir, "worker-starts.log");
    const env = workerFault("fake", {
      LLEM_TEST_WORKER_DELAY_MS: "300",
      LLEM_TEST_WORKER_LOG: workerLog,
    });
    const random = seededRandom(20_261_124);
    const stamps = new Map<string, Stamp>();
    const startsOf = (key: string) =>
      existsSync(workerLog)
        ? readFileSync(workerLog, "utf8")
            .split("\n")
            .filter((line) => line === key).length
        : 0;

    let kills = 0;
    let studyDir: string | undefined;
    while (kills < KILLS) {
      const args = ["run", file, "--results-dir", resultsDir];
      if (studyDir) args.push("--resume", studyDir);
      const live = startCli(args, { env });
      await new Promise((resolve) => setTimeout(resolve, 150 + random() * 1500));
      live.child.kill("SIGKILL");
      const outcome = await live.exited;
      if (outcome.signal !== "SIGKILL") {
        // It finished before the kill: the study is done; the loop cannot kill it again.
        expect(outcome.code, outcome.stderr).toBe(0);
        break;
      }
      kills++;
      if (!studyDir && existsSync(resultsDir)) {
        const { readdir } = await import("node:fs/promises");
        const names = await readdir(resultsDir);
        if (names.length > 0) studyDir = join(resultsDir, names[0] as string);
      }
      if (!studyDir) continue;
      if (!existsSync(join(studyDir, "study_manifest.json"))) {
        // Killed between creating the dir and writing the manifest: nothing to resume; start again.
        await rm(studyDir, { recursive: true, force: true });
        studyDir = undefined;
        continue;
      }
      const manifest = await readStudyManifest(studyDir); // throws if torn or unreadable
      for (const entry of manifest.experiments) {
        const key = `${entry.config_hash} ${entry.cycle}`;
        if (entry.status !== "completed" || stamps.has(key)) continue;
        const result = readFileSync(join(studyDir, entry.result_file as string));
        JSON.parse(result.toString("utf8"));
        stamps.set(key, {
          startedAt: entry.started_at,
          completedAt: entry.completed_at,
          resultSha: createHash("sha256").update(result).digest("hex"),
          startsSeen: startsOf(key),
        });
      }
    }
    expect(kills).toBeGreaterThanOrEqual(Math.min(KILLS, 10));

    const final = await runCli(
      studyDir ? ["run", file, "--resume", studyDir] : ["run", file, "--results-dir", resultsDir],
      { env },
    );
    expect(final.code, final.stderr).toBe(0);
    const { readdir } = await import("node:fs/promises");
    studyDir ??= join(resultsDir, (await readdir(resultsDir))[0] as string);
    const manifest = await readStudyManifest(studyDir);
    expect(manifest.experiments).toHaveLength(8);
    for (const entry of manifest.experiments) {
      expect(entry.status).toBe("completed");
      const key = `${entry.config_hash} ${entry.cycle}`;
      const stamp = stamps.get(key);
      if (!stamp) continue;
      // Completed before a kill: never started again, result untouched.
      expect(entry.started_at).toBe(stamp.startedAt);
      expect(entry.completed_at).toBe(stamp.completedAt);
      const result = readFileSync(join(studyDir, entry.result_file as string));
      expect(createHash("sha256").update(result).digest("hex")).toBe(stamp.resultSha);
      expect(startsOf(key)).toBe(stamp.startsSeen);
    }
    expect(stamps.size).toBeGreaterThan(0);
  }, 240_000);
});
