/** What a newcomer hits first: hints that work as set up, plurals, footnotes, one message each. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { aliasBombYaml, runProcess, tempDir, waitFor } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import {
  cliEnv,
  REPO,
  runCli,
  startCli,
  tinyStudyYaml,
  workerFault,
  writeText,
} from "./helpers.js";

/** PATH without any `llem` (as after the README's set-up). */
const PATH_WITHOUT_LLEM = "/usr/local/bin:/usr/bin:/bin";

describe("rough edges a newcomer hits", { timeout: 180_000 }, () => {
  it("a Resume: hint also gives the command that works here when llem is not on PATH, and it works", async () => {
    const dir = await tempDir();
    const file = await writeText(dir, "study.yaml", tinyStudyYaml({ batchSizes: [1] }));
    const resultsDir = join(dir, "results");
    const env = {
      ...workerFault("error"),
      PATH: `${PATH_WITHOUT_LLEM}:${join(process.execPath, "..")}`,
    };
    const failed = await runCli(["run", file, "--results-dir", resultsDir], { env });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/Resume: +llem run .* --resume /);
    const working =
      /\(llem is not on PATH here; as set up: (node \S+) (run .* --resume \S+)\)/.exec(
        failed.stdout,
      );
    expect(working, failed.stdout).not.toBeNull();
    // The printed command runs: it resumes the study (whose run fails again, by the fault).
    const [, node, args] = working!;
    const again = await runProcess(
      process.execPath,
      [node!.slice("node ".length), ...args!.split(" ")],
      {
        cwd: REPO,
        env: cliEnv(env),
        timeoutMs: 60_000,
      },
    );
    expect(again.stderr).toContain("Resuming");

    // Run as the README runs it (the repository's script): the hint says so.
    const viaScript = await runProcess(
      "npx",
      ["-y", "pnpm@10", "--silent", "llem", "run", file, "--results-dir", join(dir, "again")],
      { cwd: REPO, env: cliEnv(env), timeoutMs: 90_000 },
    );
    expect(viaScript.stdout).toMatch(/as set up: npx -y pnpm@10 llem run .* --resume \S+\)/);
  });

  it('one run is "1 run"; the ±stddev footnote only where a spread is shown', async () => {
    const dir = await tempDir();
    const resultsDir = join(dir, "results");
    const one = await writeText(dir, "one.yaml", tinyStudyYaml({ name: "one", batchSizes: [1] }));
    const single = await runCli(["run", one, "--results-dir", resultsDir], {
      env: workerFault("fake"),
    });
    expect(single.code, single.stderr).toBe(0);
    expect(single.stderr).toMatch(/Study dir .*: 1 run\n/);
    expect(single.stdout).not.toContain("±stddev");
    const two = await writeText(
      dir,
      "two.yaml",
      tinyStudyYaml({ name: "two", batchSizes: [1], cycles: 2 }),
    );
    const cycles = await runCli(["run", two, "--results-dir", join(dir, "r2")], {
      env: workerFault("fake"),
    });
    expect(cycles.stdout).toContain("mean ±stddev across completed cycles");
  });

  it("SIGINT says once that the experiment is stopping cleanly", async () => {
    const dir = await tempDir();
    const file = await writeText(dir, "study.yaml", tinyStudyYaml({ batchSizes: [1, 2] }));
    const live = startCli(["run", file, "--results-dir", join(dir, "results")], {
      env: workerFault("fake", { LLEM_TEST_WORKER_DELAY_MS: "30000" }),
    });
    await waitFor(() => live.stderr().includes("started"), {
      timeoutMs: 30_000,
      what: "a run to start",
    });
    live.child.kill("SIGINT");
    const outcome = await live.exited;
    expect(outcome.code).toBe(130);
    expect(outcome.stderr.match(/stopping .*cleanly/g)).toHaveLength(1);
  });

  it("a YAML alias bomb is bad input: validate and run exit 2 with CONFIG_PARSE, no internal error", async () => {
    const dir = await tempDir();
    const bomb = aliasBombYaml();
    const file = await writeText(dir, "bomb.yaml", `${bomb}\ntask: {model: synthetic:tiny}\n`);
    for (const args of [
      ["validate", file],
      ["run", file, "--results-dir", join(dir, "results")],
    ]) {
      const outcome = await runCli(args);
      expect(outcome.code, outcome.stderr).toBe(2);
      expect(outcome.stderr).toMatch(/aliases expand to more than 10,000 nodes/);
      expect(outcome.stderr).not.toMatch(/internal error|please report/i);
    }
    expect(existsSync(join(dir, "results"))).toBe(false); // nothing written
  });

  it("an experiment file is called an experiment config whether it is valid or not", async () => {
    const dir = await tempDir();
    const file = await writeText(dir, "single.yaml", "task:\n  model: synthetic:tiny\n");
    const valid = await runCli(["validate", file]);
    expect(valid.stdout).toMatch(/valid — experiment config: 1 cycle = 1 run/);
    expect(valid.stdout).not.toMatch(/study "single"/);
    await writeText(dir, "single.yaml", "task:\n  model: synthetic:tiny\n  max_output_tokens: 0\n");
    const invalid = await runCli(["validate", file]);
    expect(invalid.stderr).toMatch(/experiment config has 1 problem/);
  });
});
