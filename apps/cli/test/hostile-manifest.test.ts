/**
 * A study dir is data, not instructions: paths a manifest names resolve inside the study dir or
 * are refused, only regular files are read, errors quote at most a short excerpt, and names from
 * configs and manifests reach the terminal with their control characters escaped.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import {
  expectNoEscapes,
  onlyStudyDir,
  readStudyManifest,
  runCli,
  workerFault,
  writeText,
} from "./helpers.js";

/** A finished two-run study (fake engine), its dir and its manifest file. */
async function finishedStudy(model = "synthetic:tiny") {
  const dir = await tempDir();
  const file = await writeText(
    dir,
    "study.yaml",
    `study_name: hostile\ntask: {model: ${JSON.stringify(model)}}\nsweep: {llamacpp.batch_size: [1, 2]}\n`,
  );
  const resultsDir = join(dir, "results");
  const run = await runCli(["run", file, "--results-dir", resultsDir], {
    cwd: dir,
    env: workerFault("fake"),
  });
  expect(run.code, run.stderr).toBe(0);
  const studyDir = await onlyStudyDir(resultsDir);
  return { dir, file, run, studyDir, manifestFile: join(studyDir, "study_manifest.json") };
}

/** Rewrites the (finished, compacted) manifest with `edit` applied. */
interface EditableManifest {
  study_yaml_path: string;
  experiments: Array<Record<string, unknown>>;
}

function editManifest(manifestFile: string, edit: (manifest: EditableManifest) => void) {
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
  edit(manifest);
  writeFileSync(manifestFile, JSON.stringify(manifest));
}

describe("a hostile study dir", { timeout: 120_000 }, () => {
  it("result_file outside the study dir is refused, not read (the run is left out and named)", async () => {
    const { dir, studyDir, manifestFile } = await finishedStudy();
    const manifest = await readStudyManifest(studyDir);
    const first = manifest.experiments[0]!;
    mkdirSync(join(dir, "outside"));
    copyFileSync(join(studyDir, first.result_file!), join(dir, "outside", "result.json"));
    editManifest(manifestFile, (data) => {
      data.experiments[0]!.result_file = "../outside/result.json";
    });
    const results = await runCli(["results", studyDir, "--format", "json"]);
    expect(results.code, results.stderr).toBe(0);
    expect(results.stderr).toMatch(
      /warning: .*run [0-9a-f]{8} cycle 1 left out: result_file "\.\.\/outside\/result\.json" leads outside the study dir/,
    );
    const rows = JSON.parse(results.stdout) as {
      config_hash: string;
      metrics: { output_tokens_per_s: { n: number } | null };
    }[];
    const row = rows.find((item) => item.config_hash === first.config_hash)!;
    expect(row.metrics.output_tokens_per_s).toBeNull();
  });

  it("a result_file that is a FIFO is refused at once, not waited on", async () => {
    const { studyDir, manifestFile } = await finishedStudy();
    const manifest = await readStudyManifest(studyDir);
    const fifo = join(studyDir, manifest.experiments[0]!.result_file!);
    rmSync(fifo);
    execFileSync("mkfifo", [fifo]);
    editManifest(manifestFile, () => {});
    const results = await runCli(["results", studyDir], { timeoutMs: 30_000 });
    expect(results.signal).toBeNull();
    expect(results.code, results.stderr).toBe(0);
    expect(results.stderr).toMatch(
      /left out: result_file ".*result\.json" is a FIFO \(named pipe\), not a regular file/,
    );
  });

  it("study_yaml_path naming another file: the error quotes a short excerpt, not the file", async () => {
    const { dir, studyDir, manifestFile } = await finishedStudy();
    const secret = join(dir, "secret.txt");
    const lines = Array.from(
      { length: 50 },
      (_, i) => `user${i}:x:${1000 + i}:${1000 + i}::/home/user${i}:/bin/sh`,
    );
    writeFileSync(secret, `${lines.join("\n")}\n`);
    editManifest(manifestFile, (data) => {
      data.study_yaml_path = secret;
      data.experiments[1]!.status = "pending";
    });
    rmSync(join(studyDir, "study.yaml"));
    const resumed = await runCli(["run", "--resume", studyDir]);
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toMatch(
      /expected a mapping at the top level .*found a text of [\d,]+ characters/,
    );
    expect(resumed.stderr).not.toContain(lines[1]);
    expect(resumed.stderr.length).toBeLessThan(600);
  });

  it("control characters in names are escaped on the terminal: run, status, results, errors", async () => {
    const dir = await tempDir();
    const model = "m\u001b[2J\u001b[31mred.gguf";
    writeFileSync(join(dir, model), "not really a model: the fake engine does not load it");
    const { run, studyDir, manifestFile } = await finishedStudy(join(dir, model));
    const results = await runCli(["results", studyDir]);
    // A failure recorded with an escape sequence in its message (a manifest is data).
    editManifest(manifestFile, (data) => {
      Object.assign(data.experiments[1]!, {
        status: "failed",
        result_file: null,
        error_type: "Boom\u001b[5m",
        error_message: "cleared \u001b[2J the screen",
      });
    });
    const status = await runCli(["status", studyDir]);
    for (const outcome of [run, status, results]) {
      expect(outcome.code, outcome.stderr).toBe(0);
      expectNoEscapes(outcome.stdout + outcome.stderr);
      expect(outcome.stdout + outcome.stderr).toContain("m\\x1b[2J\\x1b[31mred.gguf");
    }
    expect(status.stdout).toContain("Boom\\x1b[5m: cleared \\x1b[2J the screen");
    const bad = await writeText(
      dir,
      "bad.yaml",
      `task: {model: ${JSON.stringify(`synthetic:x\u001b[31m`)}}\n`,
    );
    const error = await runCli(["validate", bad]);
    expect(error.code).toBe(2);
    expectNoEscapes(error.stderr);
    expect(error.stderr).toContain("\\x1b[31m");
  });
});
