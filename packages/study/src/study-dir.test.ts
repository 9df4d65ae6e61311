import { writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { LlemError, parseExperimentConfig } from "@llem/schema";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { createStudyDir, dirTimestamp, experimentDirName, modelSlug } from "./study-dir.js";

describe("study directories", () => {
  it("are named {study_name}_{UTC timestamp}, with _2, _3 … when taken", async () => {
    const results = join(await tempDir(), "results", "nested");
    const now = new Date("2026-11-24T05:03:56.789Z");
    expect(dirTimestamp(now)).toBe("2026-11-24T05-03-56");
    const names = [];
    for (let i = 0; i < 3; i++) names.push(basename(await createStudyDir(results, "quick", now)));
    expect(names).toEqual([
      "quick_2026-11-24T05-03-56",
      "quick_2026-11-24T05-03-56_2",
      "quick_2026-11-24T05-03-56_3",
    ]);
  });

  it("a results dir that cannot be created is RESULTS_DIR_UNWRITABLE naming it", async () => {
    const dir = await tempDir();
    const file = join(dir, "a-file");
    await writeFile(file, "");
    const error = await createStudyDir(join(file, "results"), "x").catch(
      (caught: unknown) => caught,
    );
    expect(LlemError.hasCode(error, "RESULTS_DIR_UNWRITABLE")).toBe(true);
    expect((error as Error).message).toContain(join(file, "results"));
  });

  it("experiment dirs: {index:04d}_c{cycle}_{model-slug}-{engine}_{hash8}", () => {
    const config = parseExperimentConfig({ task: { model: "synthetic:tiny" } });
    expect(experimentDirName(4, 3, config, "abcdef0123456789")).toBe(
      "0005_c3_synthetic-tiny-llamacpp_abcdef01",
    );
    expect(modelSlug("/models/Llama-3.1-8B.Q4_K_M.gguf")).toBe("Llama-3.1-8B.Q4_K_M");
    expect(modelSlug("meta-llama/Llama-3.1-8B")).toBe("Llama-3.1-8B");
    expect(modelSlug("synthetic:layers=4,width=256")).toBe("synthetic-layers-4-width-256");
  });
});
