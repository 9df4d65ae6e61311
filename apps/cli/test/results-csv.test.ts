import { join } from "node:path";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { onlyStudyDir, runCli, workerFault, writeText } from "./helpers.js";

/** RFC 4180 enough for these rows (no quoted commas in them). */
const parseCsv = (text: string) =>
  text
    .trim()
    .split("\n")
    .map((line) => line.split(","));

describe("llem results --format csv: a table a scientist can pivot", { timeout: 120_000 }, () => {
  it("has one column per swept field and raw and adjusted energy columns named so", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "study.yaml",
      `study_name: pivot
task: {model: synthetic:tiny}
sweep:
  llamacpp.batch_size: [1, 2]
  task.max_output_tokens: [4, 8]
  kv: [{}, {llamacpp.kv_cache_type: q8_0}]
`,
    );
    const resultsDir = join(dir, "results");
    const run = await runCli(["run", file, "--results-dir", resultsDir], {
      env: workerFault("fake"),
    });
    expect(run.code, run.stderr).toBe(0);
    const csv = await runCli(["results", await onlyStudyDir(resultsDir), "--format", "csv"]);
    expect(csv.code, csv.stderr).toBe(0);
    const [header, ...rows] = parseCsv(csv.stdout);
    const column = (name: string) => header!.indexOf(name);
    // The fields the sweep varied, each a column; what every config shares is not.
    for (const field of [
      "llamacpp.batch_size",
      "task.max_output_tokens",
      "llamacpp.kv_cache_type",
    ]) {
      expect(header, field).toContain(field);
    }
    expect(header).not.toContain("task.model");
    expect(rows).toHaveLength(8);
    const cells = rows.map((row) =>
      ["llamacpp.batch_size", "task.max_output_tokens", "llamacpp.kv_cache_type"].map(
        (name) => row[column(name)],
      ),
    );
    expect(new Set(cells.map((cell) => cell.join(" "))).size).toBe(8);
    expect(cells).toContainEqual(["2", "8", "q8_0"]);
    // Raw and adjusted energy side by side, each named for what it is.
    for (const name of [
      "energy_raw_j_mean",
      "energy_adjusted_j_mean",
      "energy_per_output_token_raw_j_mean",
      "energy_per_output_token_adjusted_j_mean",
      "energy_basis",
    ]) {
      expect(header, name).toContain(name);
    }
    expect(header).not.toContain("energy_j_mean");
  });
});
