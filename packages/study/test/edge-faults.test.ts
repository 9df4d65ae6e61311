/**
 * Faults at the edges of one run, with real experiment processes (the test-only fault worker):
 * timers past setTimeout's limit, a disk that fills up, processes a killed runner leaves behind.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { parseExperimentConfig } from "@llem/schema";
import { FAULT_WORKER, tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { runInChild } from "../src/child.js";

describe("edge faults of one run", { timeout: 60_000 }, () => {
  it("an experiment_timeout_seconds past 2^31−1 ms does not fail the run at once", async () => {
    const dir = await tempDir("llem-edge-");
    const experimentDir = join(dir, "experiment");
    await mkdir(experimentDir);
    const outcome = await runInChild({
      job: {
        type: "run",
        config: parseExperimentConfig({ task: { model: "synthetic:tiny" } }),
        configHash: "0123456789abcdef",
        cycle: 1,
        experimentDir,
        baselineCacheFile: join(dir, "baseline_cache.json"),
        saveTimeseries: false,
        baseDir: dir,
      },
      timeoutS: 2_147_484, // 24.86 days: one second past the limit
      env: {
        ...process.env,
        LLEM_STUDY_WORKER: FAULT_WORKER,
        LLEM_TEST_WORKER_FAULT: "fake",
        LLEM_TEST_WORKER_DELAY_MS: "300",
      },
    });
    expect(outcome.kind).toBe("result");
  });
});
