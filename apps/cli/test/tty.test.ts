import { join } from "node:path";
import { runProcess, tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { CLI, cliEnv, REPO, tinyStudyYaml, workerFault, writeText } from "./helpers.js";

/** Runs the CLI under a pseudo-terminal (util-linux `script`), as a person at a terminal would. */
function runInTerminal(args: string[], env: NodeJS.ProcessEnv) {
  const command = [process.execPath, CLI, ...args]
    .map((arg) => `'${arg.replace(/'/g, "'\\''")}'`)
    .join(" ");
  return runProcess("script", ["-qefc", command, "/dev/null"], {
    cwd: REPO,
    env: cliEnv({ COLUMNS: "120", TERM: "xterm", ...env }),
    timeoutMs: 120_000,
  });
}

describe("on a terminal", () => {
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
});
