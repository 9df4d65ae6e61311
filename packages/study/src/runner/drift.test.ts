import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { StudyManifest } from "@llem/schema";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { loadStudy } from "../load.js";
import { driftInfo } from "./drift.js";

const ORIGINAL = `# the study as it started
study_name: drift
task: {model: "synthetic:tiny", max_output_tokens: 4}
sweep:
  llamacpp.batch_size: [1, 2]
study_execution:
  n_cycles: 2
  experiment_order: interleave
`;

/** The change an edit of ORIGINAL is classified as, against a study dir that started from it. */
async function changeOf(edited: string) {
  const dir = await tempDir("llem-drift-");
  const studyDir = join(dir, "study");
  await mkdir(studyDir);
  await writeFile(join(studyDir, "study.yaml"), ORIGINAL);
  const original = join(dir, "original.yaml");
  await writeFile(original, ORIGINAL);
  const started = await loadStudy(original);
  const file = join(dir, "edited.yaml");
  await writeFile(file, edited);
  const manifest = {
    study_yaml_hash: started.yamlHash,
    study_design_hash: started.designHash,
  } as StudyManifest;
  const { info, change } = await driftInfo(studyDir, manifest, await loadStudy(file));
  expect(info.recorded).toBe(started.yamlHash);
  expect(info.onlyCyclesChanged).toBe(change === "cycles");
  return change;
}

describe("driftInfo: what an edit of study.yaml changed", () => {
  it("a comment, blank lines, quoting or key order: formatting (no experiment changed)", async () => {
    expect(await changeOf(`${ORIGINAL}# a note added later\n`)).toBe("formatting");
    expect(
      await changeOf(
        ORIGINAL.replace(
          'model: "synthetic:tiny", max_output_tokens: 4',
          "max_output_tokens: 4, model: 'synthetic:tiny'",
        ).replace("study_name: drift", "\n\nstudy_name: 'drift'   # renamed? no"),
      ),
    ).toBe("formatting");
  });

  it("only n_cycles: cycles", async () => {
    expect(await changeOf(ORIGINAL.replace("n_cycles: 2", "n_cycles: 5"))).toBe("cycles");
  });

  it("the order, a gap or a timeout, with the same configs: schedule", async () => {
    expect(await changeOf(ORIGINAL.replace("interleave", "reverse"))).toBe("schedule");
    expect(
      await changeOf(ORIGINAL.replace("n_cycles: 2", "n_cycles: 2\n  experiment_gap_seconds: 5")),
    ).toBe("schedule");
  });

  it("any config: experiments", async () => {
    expect(await changeOf(ORIGINAL.replace("[1, 2]", "[1, 2, 4]"))).toBe("experiments");
    expect(await changeOf(ORIGINAL.replace("max_output_tokens: 4", "max_output_tokens: 5"))).toBe(
      "experiments",
    );
  });
});
