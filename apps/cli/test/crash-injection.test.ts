import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
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
const RUNS_PER_STUDY = 12; // 6 configs × 2 cycles

interface Stamp {
  startedAt: string | null;
  completedAt: string | null;
  resultSha: string;
  /** Worker starts logged for the run when it was first seen completed. */
  startsSeen: number;
}

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/**
 * One study, SIGKILLed at random moments until it finishes or `maxKills` is reached, then resumed
 * to the end. Checks after every kill that the manifest parses, and at the end that every run
 * completed and that no run seen completed after a kill was started again or rewritten.
 */
async function killAndResume(
  dir: string,
  name: string,
  maxKills: number,
  random: () => number,
): Promise<{ kills: number; seenCompleted: number }> {
  const file = await writeText(
    dir,
    `${name}.yaml`,
    tinyStudyYaml({ name, batchSizes: [1, 2, 3, 4, 5, 6], cycles: 2, order: "interleave" }),
  );
  const resultsDir = join(dir, `${name}-results`);
  const workerLog = join(dir, `${name}-worker-starts.log`);
  const env = workerFault("fake", {
    LLEM_TEST_WORKER_DELAY_MS: "250",
    LLEM_TEST_WORKER_LOG: workerLog,
  });
  const stamps = new Map<string, Stamp>();
  const startsOf = (key: string) =>
    existsSync(workerLog)
      ? readFileSync(workerLog, "utf8")
          .split("\n")
          .filter((line) => line === key).length
      : 0;

  let kills = 0;
  let finished = false;
  let studyDir: string | undefined;
  while (kills < maxKills) {
    const args = ["run", file, "--results-dir", resultsDir];
    if (studyDir) args.push("--resume", studyDir);
    const live = startCli(args, { env });
    await new Promise((resolve) => setTimeout(resolve, 300 + random() * 4500));
    live.child.kill("SIGKILL");
    const outcome = await live.exited;
    if (outcome.signal !== "SIGKILL") {
      expect(outcome.code, outcome.stderr).toBe(0); // finished before the kill
      finished = true;
      break;
    }
    kills++;
    if (!studyDir && existsSync(resultsDir)) {
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
        resultSha: sha256(result),
        startsSeen: startsOf(key),
      });
    }
  }

  if (!finished) {
    const final = await runCli(
      studyDir ? ["run", file, "--resume", studyDir] : ["run", file, "--results-dir", resultsDir],
      { env },
    );
    expect(final.code, final.stderr).toBe(0);
  }
  studyDir ??= join(resultsDir, (await readdir(resultsDir))[0] as string);
  const manifest = await readStudyManifest(studyDir);
  expect(manifest.experiments).toHaveLength(RUNS_PER_STUDY);
  for (const entry of manifest.experiments) {
    expect(entry.status).toBe("completed");
    const stamp = stamps.get(`${entry.config_hash} ${entry.cycle}`);
    if (!stamp) continue;
    expect(entry.started_at).toBe(stamp.startedAt);
    expect(entry.completed_at).toBe(stamp.completedAt);
    expect(sha256(readFileSync(join(studyDir, entry.result_file as string)))).toBe(stamp.resultSha);
    expect(startsOf(`${entry.config_hash} ${entry.cycle}`)).toBe(stamp.startsSeen);
  }
  return { kills, seenCompleted: stamps.size };
}

describe("crash injection: SIGKILL the runner at random moments, then --resume", () => {
  it(`after ${KILLS} kills every run completes, no completed run is re-run, the manifest always parses`, async () => {
    const dir = await tempDir();
    const random = seededRandom(20_261_124);
    let kills = 0;
    let studies = 0;
    let seenCompleted = 0;
    // A study that finishes between kills is checked, and the kills go on with a fresh one.
    while (kills < KILLS) {
      const round = await killAndResume(dir, `crash${++studies}`, KILLS - kills, random);
      kills += round.kills;
      seenCompleted += round.seenCompleted;
    }
    expect(kills).toBe(KILLS);
    // The kills must land mid-study, with completed runs on disk that resuming has to keep.
    expect(seenCompleted).toBeGreaterThan(0);
    console.log(
      `crash injection: ${kills} kills over ${studies} studies; ${seenCompleted} runs seen completed at a kill`,
    );
  }, 300_000);
});
