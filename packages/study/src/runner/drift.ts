import { join } from "node:path";
import { readRegularFile } from "@llem/backends/files";
import {
  canonicalJson,
  isPlainObject,
  StudyConfig as StudyConfigModel,
  type StudyManifest,
} from "@llem/schema";
import { parse as parseYamlText } from "yaml";
import { STUDY_YAML_FILE_NAME } from "../study-dir.js";
import type { DriftChange, DriftInfo, LoadedStudy } from "../types.js";
import { MAX_STUDY_FILE_BYTES } from "../yaml-file.js";

/**
 * What an edit of study.yaml since the study started changed, judged from the copy in the study
 * dir against the file now:
 *
 *   formatting   comments, blank lines, quoting, key order: the parsed study is the same
 *   cycles       only study_execution.n_cycles (resuming tops the study up with new cycles)
 *   schedule     how runs are scheduled or written (order, gaps, timeouts, output); no config changed
 *   experiments  the configs themselves (the study design hash differs)
 */
export async function driftInfo(
  studyDir: string,
  manifest: StudyManifest,
  loaded: LoadedStudy,
): Promise<{ info: DriftInfo; change: DriftChange }> {
  const change = await classify(studyDir, manifest, loaded);
  return {
    info: {
      recorded: manifest.study_yaml_hash,
      current: loaded.yamlHash,
      onlyCyclesChanged: change === "cycles",
    },
    change,
  };
}

async function classify(
  studyDir: string,
  manifest: StudyManifest,
  loaded: LoadedStudy,
): Promise<DriftChange> {
  if (manifest.study_design_hash !== loaded.designHash) return "experiments";
  // The copy in the study dir is read like any study file: a regular file, bounded.
  const recordedText = await readRegularFile(join(studyDir, STUDY_YAML_FILE_NAME), {
    maxBytes: MAX_STUDY_FILE_BYTES,
  }).then(
    (bytes) => bytes.toString("utf8"),
    () => undefined,
  );
  const before = recordedText === undefined ? undefined : parsedStudy(recordedText);
  const now = parsedStudy(loaded.yamlText);
  // Without the recorded copy the edit cannot be told apart from a schedule change.
  if (before === undefined || now === undefined) return "schedule";
  try {
    if (canonicalJson(before) === canonicalJson(now)) return "formatting";
    const withoutCycles = (study: Record<string, unknown>) => {
      const execution = isPlainObject(study.study_execution) ? study.study_execution : {};
      const { n_cycles: _cycles, ...rest } = execution;
      return canonicalJson({ ...study, study_execution: rest });
    };
    return withoutCycles(before) === withoutCycles(now) ? "cycles" : "schedule";
  } catch {
    return "schedule"; // a value without a canonical form (.inf): no finer judgement
  }
}

/** A study.yaml text parsed and with its defaults filled in; undefined when it does not parse. */
function parsedStudy(text: string): Record<string, unknown> | undefined {
  try {
    const parsed = StudyConfigModel.safeParse(parseYamlText(text));
    return parsed.success ? (parsed.data as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
