import { join, resolve } from "node:path";
import { llemVersion } from "@llem/backends";
import { ManifestStore, type RunSpec, writeFileAtomic } from "@llem/manifest";
import { LlemError, type ManifestEntry, type StudyManifest } from "@llem/schema";
import { readStudyManifest } from "../status.js";
import { createStudyDir, STUDY_YAML_FILE_NAME } from "../study-dir.js";
import type { LoadedStudy, PlannedRun, RunStudyOptions } from "../types.js";
import { driftInfo } from "./drift.js";
import { studyTiming } from "./timing.js";

export interface OpenedStudy {
  studyDir: string;
  store: ManifestStore;
  resumed: boolean;
  /** Resuming: the runs the manifest showed `running` before opening it (their runner died). */
  leftRunning: readonly ManifestEntry[];
}

/**
 * The study dir a run works in, with its manifest open and locked: a new one (dir created,
 * study.yaml copied, every run pending), or — resuming — the existing one, after the drift check
 * (study.yaml changed: `onDrift` decides; without it STUDY_DRIFT). `shared`: opened for workers
 * (the lock is taken per call, and nothing is reset on open).
 */
export async function openStudy(
  loaded: LoadedStudy,
  options: RunStudyOptions,
  mode: "exclusive" | "shared" = "exclusive",
): Promise<OpenedStudy> {
  const { lockStaleMs } = studyTiming(
    options.lockStaleMs === undefined ? {} : { lockStaleMs: options.lockStaleMs },
  );
  if (options.resumeDir === undefined) {
    const resultsDir = resolve(options.resultsDir ?? loaded.study.output.results_dir);
    const studyDir = await createStudyDir(resultsDir, loaded.study.study_name);
    await writeFileAtomic(join(studyDir, STUDY_YAML_FILE_NAME), loaded.yamlBytes);
    const store = await ManifestStore.create(studyDir, {
      studyName: loaded.study.study_name,
      studyYamlPath: loaded.file,
      studyYamlHash: loaded.yamlHash,
      studyDesignHash: loaded.designHash,
      llemVersion: llemVersion(),
      runs: runSpecs(loaded.runs),
      lockStaleMs,
      mode,
    });
    return { studyDir, store, resumed: false, leftRunning: [] };
  }
  const studyDir = resolve(options.resumeDir);
  const recorded = await readStudyManifest(studyDir);
  await confirmDrift(studyDir, recorded, loaded, options.onDrift);
  const store = await ManifestStore.open(studyDir, { lockStaleMs, mode }); // (requeues them as pending)
  const leftRunning = recorded.experiments.filter((entry) => entry.status === "running");
  return { studyDir, store, resumed: true, leftRunning };
}

/** Adds the runs the study file asks for that the manifest does not have yet (a top-up). */
export async function addMissingRuns(store: ManifestStore, loaded: LoadedStudy): Promise<void> {
  const missing = loaded.runs.filter((run) => store.entry(run.configHash, run.cycle) === undefined);
  if (missing.length > 0) await store.addRuns(runSpecs(missing));
}

function runSpecs(runs: readonly PlannedRun[]): RunSpec[] {
  return runs.map((run) => ({
    configHash: run.configHash,
    configSummary: run.summary,
    cycle: run.cycle,
  }));
}

/**
 * Resuming (or joining, as a worker) a study whose study.yaml changed since it started: `onDrift`
 * decides; without it, or when it declines, STUDY_DRIFT naming what changed.
 */
export async function confirmDrift(
  studyDir: string,
  recorded: StudyManifest,
  loaded: LoadedStudy,
  onDrift: RunStudyOptions["onDrift"],
): Promise<void> {
  if (recorded.study_yaml_hash === loaded.yamlHash) return;
  const { info, change } = await driftInfo(studyDir, recorded, loaded);
  const proceed = onDrift ? await onDrift(info, change) : false;
  if (proceed) return;
  throw new LlemError(
    "STUDY_DRIFT",
    `${loaded.file} changed since ${studyDir} started (study_yaml_hash ${info.recorded.slice(0, 12)}… → ${info.current.slice(0, 12)}…)` +
      (change === "cycles"
        ? "; only n_cycles changed, so resuming would top the study up with new cycles"
        : change === "formatting"
          ? "; only comments or formatting changed (no experiment changed)"
          : "") +
      (onDrift ? "; resuming was declined" : "; confirm to resume with the changed file"),
    { details: { studyDir, ...info, change } },
  );
}
