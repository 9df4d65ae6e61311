/**
 * Step 1 of a report: read one study dir's public files into memory, compactly. Only the formats
 * on disk are used — `study_manifest.json` (through @llem/manifest, so a journal not yet folded
 * in is seen too), `study_summary.json`, `study.yaml`, `skipped_configs.json` and each completed
 * run's `result.json` — so the report works on a study another llem version wrote, on one that is
 * still running, and on one that was killed (no summary yet). Nothing here writes.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { readLockOwner } from "@llem/manifest";
import { type ManifestEntry, printable, type StudyManifest } from "@llem/schema";
import { parse as parseYaml } from "yaml";
import { readStudyManifest } from "../status.js";
import { SKIPPED_FILE_NAME, STUDY_YAML_FILE_NAME, SUMMARY_FILE_NAME } from "../study-dir.js";
import { type RunFacts, runFacts } from "./facts.js";

/** One completed run whose result.json was read. */
export interface RunRead {
  cycle: number;
  /** The experiment's directory, absolute (result.json's directory). */
  experimentDir: string;
  facts: RunFacts;
}

export interface StudyFiles {
  dir: string;
  manifest: StudyManifest;
  lockHolder: string | null;
  /** study_summary.json as parsed JSON (written when the study ended; null before). */
  summary: Record<string, unknown> | null;
  /** study.yaml as parsed YAML, null when missing or unreadable. */
  studyYaml: unknown;
  skipped: Array<{ summary: string; reason: string }>;
  /** Completed runs with a readable result, per config hash, in manifest order. */
  runs: Map<string, RunRead[]>;
  notes: string[];
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, "utf8"));
}

function asObject(value: unknown): Record<string, unknown> | null {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

/**
 * `pick` of each of `paths` parsed as JSON, in order (undefined where a file is missing or not JSON).
 * Synchronous reads in chunks, yielding to the event loop between chunks: for tens of thousands
 * of small files this is several times faster than fs.promises (whose open, stat, read and close
 * each hop through the thread pool), and other work in the process still gets its turns.
 */
async function readJsonFiles<T>(
  paths: readonly string[],
  pick: (json: unknown) => T,
  chunk = 256,
): Promise<Array<T | undefined>> {
  const out = new Array<T | undefined>(paths.length);
  for (let start = 0; start < paths.length; start += chunk) {
    for (let index = start; index < Math.min(paths.length, start + chunk); index++) {
      try {
        // Picked at once: the parsed document is garbage before the next file is read.
        out[index] = pick(JSON.parse(readFileSync(paths[index] as string, "utf8")));
      } catch {
        out[index] = undefined;
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return out;
}

/** The skipped configs with their reasons: from the summary, else from skipped_configs.json. */
async function readSkipped(dir: string, summary: Record<string, unknown> | null) {
  let list: unknown = summary?.skipped;
  if (!Array.isArray(list)) list = await readJson(join(dir, SKIPPED_FILE_NAME)).catch(() => []);
  if (!Array.isArray(list)) return [];
  return list.flatMap((item) => {
    const skipped = asObject(item);
    const summaryText = skipped?.config_summary ?? skipped?.summary;
    if (typeof summaryText !== "string") return [];
    const reason = typeof skipped?.reason === "string" ? skipped.reason : "no reason given";
    return [{ summary: printable(summaryText), reason: printable(reason) }];
  });
}

/** Reads a study dir (see the file comment). Throws STUDY_NOT_FOUND when `dir` is not one. */
export async function readStudyFiles(dirArg: string): Promise<StudyFiles> {
  const dir = resolve(dirArg);
  const manifest = await readStudyManifest(dir);
  const notes: string[] = [];
  const owner = await readLockOwner(dir).catch(() => null);
  const lockHolder = owner
    ? printable(`${owner.host} pid ${owner.pid} since ${owner.since}`)
    : null;

  let summary: Record<string, unknown> | null = null;
  try {
    summary = asObject(await readJson(join(dir, SUMMARY_FILE_NAME)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      notes.push(
        `${SUMMARY_FILE_NAME} could not be read (${(error as Error).message}); figures come from the results`,
      );
    }
  }
  let studyYaml: unknown = null;
  try {
    studyYaml = parseYaml(await readFile(join(dir, STUDY_YAML_FILE_NAME), "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      notes.push(`${STUDY_YAML_FILE_NAME} could not be parsed; axes are ordered by name`);
    }
  }

  const completed = manifest.experiments.filter(
    (entry): entry is ManifestEntry & { result_file: string } =>
      entry.status === "completed" && typeof entry.result_file === "string",
  );
  const facts = await readJsonFiles(
    completed.map((entry) => join(dir, entry.result_file)),
    runFacts,
  );
  const read = facts.map((fact, index): RunRead | undefined =>
    fact === undefined
      ? undefined
      : {
          cycle: completed[index]?.cycle ?? 0,
          experimentDir: dirname(join(dir, completed[index]?.result_file ?? "")),
          facts: fact,
        },
  );
  const unreadable = read.filter((run) => run === undefined).length;
  if (unreadable > 0) {
    notes.push(
      `${unreadable} completed run(s) have a result.json that is missing or not JSON; they are left out`,
    );
  }
  const runs = new Map<string, RunRead[]>();
  for (const entry of manifest.experiments) {
    if (!runs.has(entry.config_hash)) runs.set(entry.config_hash, []);
  }
  completed.forEach((entry, index) => {
    const run = read[index];
    if (!run) return;
    // Only one config's result per run: the first run of a config keeps its config and
    // environment, the others drop theirs (18,944 configs × 3 cycles of configs add up).
    const list = runs.get(entry.config_hash) as RunRead[];
    if (list.length > 0) run.facts.config = undefined;
    if (index > 0) run.facts.environment = null;
    list.push(run);
  });
  return {
    dir,
    manifest,
    lockHolder,
    summary,
    studyYaml,
    skipped: await readSkipped(dir, summary),
    runs,
    notes,
  };
}
