import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import {
  expectCleanFailure,
  expectNoEscapes,
  REPO,
  runCli,
  tinyStudyYaml,
  writeText,
} from "./helpers.js";

describe("bad input: one clear message, the right exit code, no stack trace", () => {
  it("a YAML syntax error names file:line:col (exit 2)", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "broken.yaml",
      "study_name: x\ntask:\n  model: synthetic:tiny\n  dataset: [a\nsweep: {}\n",
    );
    for (const args of [
      ["validate", file],
      ["run", file],
      ["run", file, "--dry-run"],
    ]) {
      expectCleanFailure(await runCli(args), 2, new RegExp(`${file}:\\d+:\\d+: invalid YAML`));
    }
  });

  it("a schema error names the path and the expectation (exit 2)", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "schema.yaml",
      "task:\n  model: synthetic:tiny\n  max_output_tokens: -3\nllamacpp:\n  batch_sise: 2\n",
    );
    const outcome = await runCli(["validate", file]);
    expectCleanFailure(outcome, 2, /task\.max_output_tokens: expected ≥ 1, got -3/);
    expect(outcome.stderr).toMatch(/llamacpp\.batch_sise: unknown key; did you mean "batch_size"/);
    expect(outcome.stderr).toContain(file);
  });

  it("a missing base: file is named (exit 2)", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "study.yaml",
      "base: nothere.yaml\nsweep:\n  llamacpp.batch_size: [1, 2]\n",
    );
    expectCleanFailure(await runCli(["run", file]), 2, /base: file not found: .*nothere\.yaml/);
  });

  it("an unknown engine is named with the valid ones (exit 2)", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "engine.yaml",
      "task:\n  model: synthetic:tiny\nengine: llamacp\n",
    );
    expectCleanFailure(
      await runCli(["run", file]),
      2,
      /engine: expected one of "llamacpp".*got "llamacp"/,
    );
  });

  it("a study where every config is invalid lists the first failures (exit 2)", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "none.yaml",
      "task:\n  model: synthetic:tiny\nworkload:\n  mode: concurrent\n  concurrency: 8\nsweep:\n  llamacpp.batch_size: [1, 2]\n",
    );
    const outcome = await runCli(["run", file, "--results-dir", join(dir, "results")]);
    expectCleanFailure(outcome, 2, /nothing to run — all 2 generated config\(s\) are invalid/);
    expect(outcome.stderr).toMatch(/concurrency 8 exceeds llamacpp\.batch_size 1/);
    expect(await readdir(dir)).toEqual(["none.yaml"]);
  });

  it("a missing file is named (exit 2)", async () => {
    expectCleanFailure(
      await runCli(["validate", "/nonexistent/study.yaml"]),
      2,
      /not found: \/nonexistent\/study\.yaml/,
    );
  });

  it("LLEM_DEBUG=1 shows the stack trace of an expected error", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "engine.yaml",
      "task:\n  model: synthetic:tiny\nengine: llamacp\n",
    );
    const outcome = await runCli(["validate", file], { env: { LLEM_DEBUG: "1" } });
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toMatch(/^\s+at .+:\d+/m);
  });

  it("a dir that is not a study is refused by status, results and run --resume (exit 2)", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "notes.txt"), "not a study");
    const study = await writeText(dir, "study.yaml", tinyStudyYaml());
    expectCleanFailure(await runCli(["status", dir]), 2, new RegExp(dir));
    expectCleanFailure(await runCli(["results", dir]), 2, new RegExp(dir));
    expectCleanFailure(await runCli(["run", study, "--resume", dir]), 2, new RegExp(dir));
    expectCleanFailure(await runCli(["run", "--resume", dir]), 2, /not a study dir/);
    expect(await readdir(dir)).toEqual(["notes.txt", "study.yaml"]);
  });

  it("a corrupt manifest is reported, not repaired or overwritten (exit 2)", async () => {
    const dir = await tempDir();
    const studyDir = join(dir, "broken_study");
    await mkdir(studyDir);
    const garbage = '{"schema_version": "2.0", "experiments": [ {"config_hash": "ab';
    await writeFile(join(studyDir, "study_manifest.json"), garbage);
    const study = await writeText(dir, "study.yaml", tinyStudyYaml());
    for (const args of [
      ["status", studyDir],
      ["results", studyDir],
      ["run", study, "--resume", studyDir],
    ]) {
      const outcome = await runCli(args);
      expectCleanFailure(outcome, 2, /study_manifest\.json/);
    }
    expect(await readFile(join(studyDir, "study_manifest.json"), "utf8")).toBe(garbage);
  });

  it("--resume without an unfinished study to resume says so (exit 2)", async () => {
    const dir = await tempDir();
    const study = await writeText(dir, "study.yaml", tinyStudyYaml());
    expectCleanFailure(
      await runCli(["run", study, "--resume", "--results-dir", join(dir, "results")]),
      2,
      /no unfinished study of .*study\.yaml/,
    );
  });
});

describe("validate and --dry-run", () => {
  it("validate summarises what a study expands to", async () => {
    const outcome = await runCli(["validate", "examples/quickstart.yaml"]);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toMatch(/valid — study "quickstart": 4 configs × 2 cycles = 8 runs/);
  });

  it("--dry-run shows counts, order, skipped configs with reasons and an estimate, and writes nothing", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "study.yaml",
      tinyStudyYaml({
        batchSizes: [1, 2],
        cycles: 2,
        order: "interleave",
        extra: "  \nworkload:\n  mode: concurrent\n  concurrency: 2\n",
      }),
    );
    const outcome = await runCli(
      ["run", file, "--dry-run", "--results-dir", join(dir, "results")],
      {
        cwd: dir,
      },
    );
    expect(outcome.code, outcome.stderr).toBe(0);
    expectNoEscapes(outcome.stdout);
    // batch_size 1 cannot hold concurrency 2: skipped with the reason
    expect(outcome.stdout).toMatch(
      /Skipped \(1 invalid combination\):\n {2}- .*batch_size=1.*concurrency 2 exceeds llamacpp\.batch_size 1/,
    );
    expect(outcome.stdout).toMatch(/1 unique config × 2 cycles = 2 runs, order interleave/);
    expect(outcome.stdout).toMatch(/estimate +about \S+/);
    expect(outcome.stdout).toMatch(
      / 1 {2}c1 {2}llamacpp \/ synthetic:tiny \/ batch=2.*\n {2}2 {2}c2 /,
    );
    expect(await readdir(dir)).toEqual(["study.yaml"]);
  });

  it("--dry-run refuses what run would refuse: a model its engine cannot load (exit 2)", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "vllm-synthetic.yaml",
      "task:\n  model: synthetic:tiny\nengine: vllm\nsweep:\n  vllm.max_num_seqs: [4, 8]\n",
    );
    const outcome = await runCli(["run", file, "--dry-run", "--json"]);
    expectCleanFailure(
      outcome,
      2,
      /task\.model: synthetic models run on llamacpp and llama-server; vllm needs a model id or path it can load \(2 configs, e\.g\. vllm \/ synthetic:tiny/,
    );
    // validate refuses it the same way, without a vllm binary anywhere.
    expectCleanFailure(await runCli(["validate", file]), 2, /synthetic models run on llamacpp/);
  });

  it("--dry-run --json lists every run in order", async () => {
    const outcome = await runCli(["run", "examples/quickstart.yaml", "--dry-run", "--json"]);
    expect(outcome.code, outcome.stderr).toBe(0);
    const plan = JSON.parse(outcome.stdout) as {
      total_runs: number;
      runs: { position: number; cycle: number; config_summary: string }[];
    };
    expect(plan.total_runs).toBe(8);
    expect(plan.runs.map((run) => run.position)).toEqual(
      Array.from({ length: 8 }, (_, i) => i + 1),
    );
    // interleave: every config once per cycle, cycle by cycle.
    expect(plan.runs.map((run) => run.cycle)).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
    expect(plan.runs.every((run) => run.config_summary.startsWith("llamacpp / synthetic:"))).toBe(
      true,
    );
  });

  it("every example validates (server engines need no server binary to validate)", async () => {
    for (const example of await readdir(join(REPO, "examples"))) {
      const outcome = await runCli(["validate", join("examples", example)], {
        env: { PATH: "/usr/bin:/bin", LLEM_VLLM_BIN: undefined, LLEM_LLAMA_SERVER_BIN: undefined },
      });
      expect(outcome.code, `${example}: ${outcome.stderr}`).toBe(0);
    }
  });
});
