// The whole check, as CI runs it: lint, build, typecheck, package checks, then every test.
// Ends with one plain line `N passed, N failed` (each check step counts as one, plus every test)
// and exits non-zero if anything failed.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { relative } from "node:path";

const resultsFile = ".ci-results/vitest.json";
let passed = 0;
let failed = 0;
let skipped = 0;
/** Skipped tests per file, named at the end so a skip is never silent. */
const skippedByFile = new Map();

function step(name, command, args) {
  console.log(`\n▶ ${name}: ${command} ${args.join(" ")}`);
  const started = Date.now();
  const { status } = spawnSync(command, args, { stdio: "inherit", shell: false });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (status === 0) {
    passed++;
    console.log(`✔ ${name} (${seconds} s)`);
    return true;
  }
  failed++;
  console.log(`✘ ${name} failed with exit ${status} (${seconds} s)`);
  return false;
}

const pnpm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ["pnpm"];
const run = (name, ...args) => step(name, pnpm[0], [...pnpm.slice(1), ...args]);

run("lint", "exec", "biome", "ci", ".");
const built = run("build", "exec", "turbo", "run", "build", "--output-logs=errors-only");
// The server-engine tests drive a real llama-server, built once per machine from the llama.cpp
// source node-llama-cpp ships (cached outside the clone; a no-op once built). Without a C++
// toolchain the build is skipped and those tests skip, saying why — except in CI, where both fail.
const toolchain = ["cmake", "ninja", "c++", "git"].every(
  (tool) => spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0,
);
if (toolchain || process.env.CI) {
  step("llama-server (built once per machine, cached)", "bash", ["scripts/build-llama-server.sh"]);
} else {
  console.log("\n(llama-server not built: no cmake/ninja/c++/git here; the server tests skip)");
}
if (built) {
  run("typecheck", "exec", "turbo", "run", "typecheck", "--output-logs=errors-only");
  run(
    "package checks (publint --strict, attw --pack)",
    "exec",
    "turbo",
    "run",
    "check:pack",
    "--output-logs=errors-only",
  );

  rmSync(resultsFile, { force: true });
  mkdirSync(".ci-results", { recursive: true });
  console.log("\n▶ tests: vitest run");
  spawnSync(
    pnpm[0],
    [
      ...pnpm.slice(1),
      "exec",
      "vitest",
      "run",
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${resultsFile}`,
    ],
    { stdio: "inherit" },
  );
  if (existsSync(resultsFile)) {
    const report = JSON.parse(readFileSync(resultsFile, "utf8"));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
    for (const file of report.testResults) {
      const count = file.assertionResults.filter((test) =>
        ["skipped", "pending", "todo"].includes(test.status),
      ).length;
      if (count > 0) skippedByFile.set(relative(process.cwd(), file.name), count);
    }
    // A test file that failed to load has no tests to count; count it as a failure.
    const brokenFiles = report.testResults.filter(
      (file) => file.status === "failed" && file.assertionResults.length === 0,
    );
    failed += brokenFiles.length;
    for (const file of brokenFiles) console.log(`✘ could not run ${file.name}: ${file.message}`);
    if (report.numTotalTests === 0) {
      failed++;
      console.log("✘ vitest ran no test");
    }
  } else {
    failed++;
    console.log("✘ vitest wrote no report");
  }
} else {
  console.log("(typecheck, package checks and tests skipped: the build failed)");
  failed += 3;
}

// Skipped tests are named on their own line: the last line is read by CI and stays `N passed, N failed`.
if (skipped) {
  console.log(`\n${skipped} skipped (each file's describe title says when it skips):`);
  for (const [file, count] of skippedByFile) console.log(`  ${file}: ${count}`);
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
