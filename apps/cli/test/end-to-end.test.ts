import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ExperimentResult, StudyResult } from "@llem/schema";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import {
  expectNoEscapes,
  onlyStudyDir,
  readJson,
  readStudyManifest,
  runCli,
  tinyStudyYaml,
  writeText,
} from "./helpers.js";

describe("llem run end to end (real llama.cpp on a synthetic model)", () => {
  it("runs a small quickstart-shaped study: all completed, one valid result per run, summary, exit 0", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "study.yaml",
      tinyStudyYaml({ name: "e2e", batchSizes: [1, 2], cycles: 2, order: "interleave" }),
    );
    const resultsDir = join(dir, "results");
    const outcome = await runCli(["run", file, "--results-dir", resultsDir], {
      timeoutMs: 240_000,
    });
    expect(outcome.code, outcome.stderr + outcome.stdout).toBe(0);
    expectNoEscapes(outcome.stdout + outcome.stderr);

    const studyDir = await onlyStudyDir(resultsDir);
    expect(studyDir).toMatch(/e2e_\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}/);
    const manifest = await readStudyManifest(studyDir);
    expect(manifest.experiments).toHaveLength(4);
    expect(manifest.experiments.map((entry) => entry.status)).toEqual(Array(4).fill("completed"));
    const resultFiles = new Set<string>();
    for (const entry of manifest.experiments) {
      expect(entry.result_file).toBeTruthy();
      const path = join(studyDir, entry.result_file as string);
      resultFiles.add(path);
      const result = ExperimentResult.parse(await readJson(path));
      expect(result.config_hash).toBe(entry.config_hash);
    }
    expect(resultFiles.size).toBe(4);
    const summary = StudyResult.parse(await readJson(join(studyDir, "study_summary.json")));
    expect(summary.status).toBe("completed");
    expect(summary.counts).toMatchObject({ total_runs: 4, completed: 4, failed: 0, pending: 0 });
    expect(summary.configs).toHaveLength(2);
    expect(await readFile(join(studyDir, "study.yaml"), "utf8")).toBe(await readFile(file, "utf8"));

    // Plain progress lines on stderr; the summary table and the results path on stdout.
    expect(outcome.stderr.match(/^✓ \[\d\/4\] c\d {2}llamacpp \/ synthetic:tiny/gm)).toHaveLength(
      4,
    );
    expect(outcome.stdout).toContain("Study completed: 4/4 runs completed");
    expect(outcome.stdout).toContain(`Results: ${studyDir}`);

    // status, from the manifest alone
    const status = await runCli(["status", studyDir]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(
      /progress +4\/4 \(100%\): 4 completed, 0 failed, 0 running, 0 pending/,
    );

    // results in all three formats; estimated energy marked in each
    const table = await runCli(["results", studyDir]);
    expect(table.code, table.stderr).toBe(0);
    const estimated = summary.configs.every((config) => config.energy_method === "estimated");
    expect(table.stdout).toMatch(/batch=1/);
    expect(table.stdout).toMatch(/batch=2/);
    if (estimated) {
      expect(table.stdout).toMatch(/\d ±\S+ est\./);
      expect(table.stdout).toContain("est. = estimated energy");
    }
    const csv = await runCli(["results", studyDir, "--format", "csv"]);
    const [header, ...rows] = csv.stdout.trim().split("\n");
    expect(header?.startsWith("study_dir,config_hash,")).toBe(true);
    expect(header).toContain("energy_estimated");
    expect(header).toContain("energy_per_output_token_j_mean");
    expect(rows).toHaveLength(2);
    if (estimated) for (const row of rows) expect(row).toContain(",estimated,true,");
    // Several dirs (a shell glob such as results/quickstart_*) are shown one after the other.
    const twice = await runCli(["results", studyDir, studyDir, "--format", "csv"]);
    expect(twice.stdout.trim().split("\n")).toHaveLength(5);
    const statusTwice = await runCli(["status", studyDir, studyDir, "--json"]);
    expect(
      statusTwice.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line).study_dir),
    ).toEqual([studyDir, studyDir]);
    const json = await runCli(["results", studyDir, "--format", "json"]);
    const configs = JSON.parse(json.stdout) as Array<{
      cycles_completed: number;
      energy_estimated: boolean;
    }>;
    expect(configs.map((config) => config.cycles_completed)).toEqual([2, 2]);
    expect(configs.every((config) => config.energy_estimated === estimated)).toBe(true);
  }, 300_000);

  it("--json prints one event per line and the summary last; an experiment file is a 1-config study", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "experiment.yaml",
      "task:\n  model: synthetic:tiny\n  dataset:\n    n_prompts: 2\n  max_output_tokens: 4\nllamacpp:\n  threads: 1\nmeasurement:\n  baseline:\n    duration_seconds: 1\n  warmup:\n    enabled: false\n",
    );
    const resultsDir = join(dir, "results");
    const outcome = await runCli(["run", file, "--json", "--results-dir", resultsDir], {
      timeoutMs: 120_000,
    });
    expect(outcome.code, outcome.stderr).toBe(0);
    const lines = outcome.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; at: string });
    const types = lines.map((line) => line.type);
    expect(types[0]).toBe("study_started");
    expect(types).toContain("run_started");
    expect(types).toContain("run_finished");
    expect(types.at(-2)).toBe("study_finished");
    expect(types.at(-1)).toBe("summary");
    for (const line of lines) expect(line.at).toMatch(/Z$/);
    const finished = lines.find((line) => line.type === "run_finished") as unknown as {
      status: string;
      output_tokens_per_s: number;
      config_hash: string;
    };
    expect(finished.status).toBe("completed");
    expect(finished.output_tokens_per_s).toBeGreaterThan(0);
    expect(finished.config_hash).toMatch(/^[0-9a-f]{16}$/);
    // One key style: snake_case, as the files llem writes.
    for (const line of lines) {
      expect(Object.keys(line).filter((key) => /[A-Z]/.test(key))).toEqual([]);
    }
    const summary = lines.at(-1) as unknown as {
      status: string;
      exit_code: number;
      study_dir: string;
    };
    expect(summary).toMatchObject({ status: "completed", exit_code: 0 });
    expect(existsSync(join(summary.study_dir, "study_summary.json"))).toBe(true);
  }, 180_000);
});
