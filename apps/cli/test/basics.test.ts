import { readFileSync } from "node:fs";
import { join } from "node:path";
import { forbidImportsArgs } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { EXIT, exitCodeForError, exitCodeForStudyStatus } from "../src/exit-codes.js";
import { COMMANDS } from "../src/help.js";
import { expectCleanFailure, expectNoEscapes, REPO, runCli } from "./helpers.js";

describe("llem help, version and usage", () => {
  it("prints help listing every command, exit 0", async () => {
    const outcome = await runCli(["--help"]);
    expect(outcome.code).toBe(0);
    for (const command of COMMANDS) expect(outcome.stdout).toContain(`  ${command} `);
    expectNoEscapes(outcome.stdout);
  });

  it("prints help for every command, with -h and --help", async () => {
    for (const command of COMMANDS) {
      const outcome = await runCli([command, command === "run" ? "-h" : "--help"]);
      expect(outcome.code, command).toBe(0);
      expect(outcome.stdout).toContain(`Usage: llem ${command}`);
    }
  }, 60_000);

  it("prints the version of the llem packages", async () => {
    const { version } = JSON.parse(
      readFileSync(join(REPO, "packages/schema/package.json"), "utf8"),
    ) as { version: string };
    const outcome = await runCli(["--version"]);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout.trim()).toBe(`llem ${version}`);
  });

  it("refuses an unknown command with a suggestion, exit 2", async () => {
    expectCleanFailure(
      await runCli(["rn", "x.yaml"]),
      2,
      /unknown command "rn"; did you mean "run"/,
    );
  });

  it("refuses unknown options and missing or extra arguments, exit 2", async () => {
    expectCleanFailure(
      await runCli(["run", "x.yaml", "--bogus"]),
      2,
      /run: unknown option '--bogus'/,
    );
    expectCleanFailure(await runCli(["status"]), 2, /status: missing <study-dir>/);
    expectCleanFailure(await runCli(["validate", "a", "b"]), 2, /unexpected argument "b"/);
    expectCleanFailure(
      await runCli(["results", "somewhere", "--format", "xml"]),
      2,
      /--format must be one of table, csv, json/,
    );
  });

  it("no command is a usage error that still shows help", async () => {
    const outcome = await runCli([]);
    expect(outcome.code).toBe(2);
    expect(outcome.stdout).toContain("Usage: llem <command>");
  });
});

describe("the help path stays light", () => {
  it("dist/cli.js and what it statically imports load no llem package but @llem/schema/errors", () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = readFileSync(join(REPO, "apps/cli/dist", file), "utf8");
      for (const match of code.matchAll(/^import\s[^;]*?from\s+"([^"]+)"/gms)) {
        const specifier = match[1] as string;
        // @llem/schema/errors is LlemError alone (no zod; its own test shows that).
        expect(specifier, `${file} imports ${specifier}`).toMatch(
          /^(\.\/|node:|fs|path|util|url|os|readline|@llem\/schema\/errors$)/,
        );
        if (specifier.startsWith("./")) visit(specifier.slice(2));
      }
    };
    visit("cli.js");
    expect(seen.size).toBeGreaterThan(0);
  });

  it("help, version and a usage error run with zod, yaml, engines and the other packages unloadable", async () => {
    const forbidden = [
      "zod",
      "yaml",
      "@llem/study",
      "@llem/backends",
      "@llem/manifest",
      "node-llama-cpp",
      "koffi",
    ];
    const env = { NODE_OPTIONS: forbidImportsArgs(forbidden).join(" ") };
    const help = await runCli(["--help"], { env });
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain("Usage: llem <command>");
    expect((await runCli(["--version"], { env })).code).toBe(0);
    expectCleanFailure(await runCli(["rn"], { env }), 2, /unknown command "rn"/);
    // Control: a command that needs @llem/study does fail under the same hooks.
    const validate = await runCli(["validate", "examples/quickstart.yaml"], { env });
    expect(validate.code).not.toBe(0);
    expect(validate.stderr).toMatch(/forbidden import of @llem\/study/);
  });
});

describe("exit codes", () => {
  const coded = (code: string) =>
    Object.assign(new Error(code), { code, [Symbol.for("@llem/error")]: true });

  it("maps error codes in one table", () => {
    expect(exitCodeForError(coded("CONFIG_INVALID"))).toBe(EXIT.usage);
    expect(exitCodeForError(coded("CONFIG_PARSE"))).toBe(2);
    expect(exitCodeForError(coded("STUDY_DRIFT"))).toBe(2);
    expect(exitCodeForError(coded("MANIFEST_CORRUPT"))).toBe(2);
    expect(exitCodeForError(coded("STUDY_NOT_FOUND"))).toBe(2);
    expect(exitCodeForError(coded("MANIFEST_LOCKED"))).toBe(EXIT.failure);
    expect(exitCodeForError(coded("RESULTS_DIR_UNWRITABLE"))).toBe(1);
    expect(exitCodeForError(coded("STUDY_INTERRUPTED"))).toBe(130);
  });

  it("treats unknown codes and plain errors as runtime failures", () => {
    expect(exitCodeForError(coded("SOMETHING_NEW"))).toBe(1);
    expect(exitCodeForError(new Error("boom"))).toBe(1);
    expect(exitCodeForError("a string")).toBe(1);
  });

  it("maps study outcomes", () => {
    expect(exitCodeForStudyStatus("completed")).toBe(0);
    expect(exitCodeForStudyStatus("partial")).toBe(1);
    expect(exitCodeForStudyStatus("failed")).toBe(1);
    expect(exitCodeForStudyStatus("interrupted")).toBe(130);
  });
});
