/**
 * validate = run: whatever `llem run` would refuse before its first experiment, `llem validate`
 * and `llem run --dry-run` refuse with exit 2, and `llem run` refuses before it creates a study
 * dir (so no half-made study and no "Resume:" hint is left behind).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { expectCleanFailure, runCli, writeText } from "./helpers.js";

const CASES: { name: string; task: string; message: RegExp; setup?: (dir: string) => void }[] = [
  {
    name: "an unknown synthetic preset",
    task: "model: synthetic:huge",
    message: /task\.model: .*unknown preset "huge"/,
  },
  {
    name: "an unknown built-in prompt set",
    task: "model: synthetic:tiny\n  dataset: {source: builtin:nonexistent}",
    message: /task\.dataset\.source: "builtin:nonexistent": unknown built-in prompt set/,
  },
  {
    name: "a dataset file that does not exist",
    task: "model: synthetic:tiny\n  dataset: {source: prompts.jsonl}",
    message: /task\.dataset\.source: dataset file .*prompts\.jsonl does not exist/,
  },
  {
    name: "a dataset file with a bad line",
    task: "model: synthetic:tiny\n  dataset: {source: prompts.jsonl}",
    setup: (dir) =>
      execFileSync("sh", [
        "-c",
        `printf '{"prompt": "a"}\\n{oops\\n' > ${join(dir, "prompts.jsonl")}`,
      ]),
    message: /task\.dataset\.source: .*prompts\.jsonl:2: not valid JSON/,
  },
  {
    name: "a dataset that is a FIFO",
    task: "model: synthetic:tiny\n  dataset: {source: prompts.jsonl}",
    setup: (dir) => execFileSync("mkfifo", [join(dir, "prompts.jsonl")]),
    message: /task\.dataset\.source: .*prompts\.jsonl is a FIFO \(named pipe\), not a regular file/,
  },
  {
    name: "a GGUF path that does not exist",
    task: "model: ./nothere.gguf",
    message: /task\.model: GGUF file "\.\/nothere\.gguf" does not exist/,
  },
];

describe("validate = run", { timeout: 120_000 }, () => {
  it.each(CASES)(
    "$name: validate, --dry-run and run all refuse it (exit 2), run before any study dir",
    async ({ task, message, setup }) => {
      const dir = await tempDir();
      setup?.(dir);
      const file = await writeText(
        dir,
        "study.yaml",
        `task:\n  ${task}\nsweep:\n  llamacpp.batch_size: [1, 2]\n`,
      );
      const results = join(dir, "results");
      for (const args of [
        ["validate", file],
        ["run", file, "--dry-run", "--results-dir", results],
        ["run", file, "--results-dir", results],
      ]) {
        const outcome = await runCli(args, { cwd: dir });
        expectCleanFailure(outcome, 2, message);
        expect(outcome.stdout + outcome.stderr).not.toMatch(/Resume:/);
      }
      expect(existsSync(results)).toBe(false);
    },
  );

  it("an engine typo gets a did-you-mean", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "exp.yaml",
      "task:\n  model: synthetic:tiny\nengine: llamacp\n",
    );
    expectCleanFailure(
      await runCli(["validate", file]),
      2,
      /engine: expected one of .*got "llamacp"; did you mean "llamacpp"\?/,
    );
    await writeFile(
      file,
      "task:\n  model: synthetic:tiny\nengine: [llamacpp, vlm]\nsweep: {task.max_output_tokens: [4]}\n",
    );
    expectCleanFailure(
      await runCli(["validate", file]),
      2,
      /engine\[1\]: .*got "vlm"; did you mean "vllm"\?/,
    );
  });
});
