import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FAULT_WORKER, tempDir } from "@llem/test-utils";
import { loadStudy } from "../src/load.js";
import type { StudyEvent } from "../src/types.js";

export interface StudyFixture {
  dir: string;
  file: string;
  resultsDir: string;
  log: string;
}

/** A study file in a fresh temp dir; `body` is YAML appended to a tiny synthetic base. */
export async function studyFixture(body: string, name = "fixture"): Promise<StudyFixture> {
  const dir = await tempDir("llem-study-run-");
  const file = join(dir, `${name}.yaml`);
  await writeFile(
    file,
    `study_name: ${name}\ntask: {model: "synthetic:tiny", max_output_tokens: 4}\n${body}`,
  );
  return { dir, file, resultsDir: join(dir, "results"), log: join(dir, "worker.log") };
}

/**
 * Environment for the experiment processes: the test-only fault worker (tools/fault-study;
 * real runs unless a fault is set), its start log, and a fault mode in `extra`.
 */
export function workerEnv(
  fixture: StudyFixture,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    LLEM_STUDY_WORKER: FAULT_WORKER,
    LLEM_TEST_WORKER_LOG: fixture.log,
    ...extra,
  };
}

export function collect(): { events: StudyEvent[]; onEvent: (event: StudyEvent) => void } {
  const events: StudyEvent[] = [];
  return { events, onEvent: (event) => events.push(event) };
}

export { loadStudy };
