import { existsSync } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runProcess, tempDir, waitFor } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import {
  CLI,
  cliEnv,
  onlyStudyDir,
  REPO,
  readStudyManifest,
  runCli,
  startCli,
  tinyStudyYaml,
  workerFault,
  writeText,
} from "./helpers.js";

/** Runs the CLI under a pseudo-terminal (util-linux `script`), as a person at a terminal would. */
function runInTerminal(args: string[], env: NodeJS.ProcessEnv, input?: string) {
  const command = [process.execPath, CLI, ...args]
    .map((arg) => `'${arg.replace(/'/g, "'\\''")}'`)
    .join(" ");
  return runProcess("script", ["-qefc", command, "/dev/null"], {
    cwd: REPO,
    env: cliEnv({ COLUMNS: "120", TERM: "xterm", ...env }),
    timeoutMs: 120_000,
    ...(input === undefined ? {} : { input }),
  });
}

// util-linux `script` gives the CLI a pseudo-terminal; BSD/macOS `script` takes other flags.
const hasScript = process.platform === "linux" && existsSync("/usr/bin/script");

describe.skipIf(!hasScript)("on a terminal", () => {
  it("draws a live progress bar and colours; NO_COLOR drops the colours", async () => {
    const dir = await tempDir();
    const file = await writeText(dir, "study.yaml", tinyStudyYaml({ batchSizes: [1, 2] }));
    const colour = await runInTerminal(["run", file, "--results-dir", join(dir, "a")], {
      ...workerFault("fake", { LLEM_TEST_WORKER_DELAY_MS: "1500" }),
      NO_COLOR: undefined,
    });
    expect(colour.code, colour.stdout).toBe(0);
    expect(colour.stdout).toContain("\r\u001b[2K"); // the bar redrawn in place
    expect(colour.stdout).toMatch(/[█░]+ \d\/2 \d+% {2}ETA /);
    expect(colour.stdout).toContain("\u001b[32m✓\u001b[39m");

    const plain = await runInTerminal(["run", file, "--results-dir", join(dir, "b")], {
      ...workerFault("fake", { LLEM_TEST_WORKER_DELAY_MS: "1500" }),
      NO_COLOR: "1",
    });
    expect(plain.code, plain.stdout).toBe(0);
    expect(plain.stdout).toMatch(/[█░]+ \d\/2/);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for colour codes
    expect(plain.stdout).not.toMatch(/\u001b\[[0-9;]*m/);
  }, 120_000);

  it("asks before resuming a changed study.yaml: no refuses (exit 2), yes proceeds", async () => {
    const dir = await tempDir();
    const file = await writeText(dir, "study.yaml", tinyStudyYaml({ batchSizes: [1, 2] }));
    const resultsDir = join(dir, "results");
    const failed = await runCli(["run", file, "--results-dir", resultsDir], {
      env: workerFault("error"),
    });
    expect(failed.code, failed.stderr).toBe(1);
    const studyDir = await onlyStudyDir(resultsDir);
    await writeFile(file, tinyStudyYaml({ batchSizes: [1, 2], cycles: 2 }));

    const declined = await runInTerminal(
      ["run", file, "--resume", studyDir],
      workerFault("fake"),
      "n\n",
    );
    expect(declined.code, declined.stdout).toBe(2);
    expect(declined.stdout).toMatch(/only in n_cycles/);
    expect(declined.stdout).toMatch(/Resume with the changed file\? \[y\/N\]/);
    expect(declined.stdout).toMatch(/resume cancelled/);
    expect((await readStudyManifest(studyDir)).experiments).toHaveLength(2);

    const accepted = await runInTerminal(
      ["run", file, "--resume", studyDir],
      workerFault("fake"),
      "y\n",
    );
    expect(accepted.code, accepted.stdout).toBe(0);
    const manifest = await readStudyManifest(studyDir);
    expect(manifest.experiments).toHaveLength(4);
    expect(manifest.experiments.every((entry) => entry.status === "completed")).toBe(true);
  }, 120_000);

  it("status --watch redraws one live view in place while another process runs the study", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "study.yaml",
      tinyStudyYaml({ batchSizes: [1, 2], cycles: 2 }),
    );
    const resultsDir = join(dir, "results");
    const runner = startCli(["run", file, "--results-dir", resultsDir], {
      env: workerFault("fake", { LLEM_TEST_WORKER_DELAY_MS: "1500" }),
    });
    const studyDir = await waitFor(
      async () => {
        const names = await readdir(resultsDir).catch(() => []);
        const found = names.find((name) =>
          existsSync(join(resultsDir, name, "study_manifest.json")),
        );
        return found ? join(resultsDir, found) : undefined;
      },
      { timeoutMs: 60_000, what: "the study dir" },
    );
    const watched = await runInTerminal(["status", "--watch", studyDir], {});
    expect((await runner.exited).code).toBe(0);
    expect(watched.code, watched.stdout).toBe(0);
    const screens = watched.stdout.split("\u001b[H\u001b[2J").filter(Boolean);
    expect(screens.length).toBeGreaterThanOrEqual(3);
    expect(
      screens.slice(0, -1).some((screen) => /state +running \(by .+ pid \d+/.test(screen)),
    ).toBe(true);
    expect(
      screens.slice(0, -1).some((screen) => /watching for changes \(Ctrl-C to stop\)/.test(screen)),
    ).toBe(true);
    expect(screens.at(-1)).toMatch(/progress +4\/4 \(100%\): 4 completed/);
  }, 120_000);
});
