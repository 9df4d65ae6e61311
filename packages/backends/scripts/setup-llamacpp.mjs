// The llamacpp engine's part of `pnpm install` (the workspace's `prepare` runs it after the
// build): links or compiles the native llama.cpp build for this machine and fetches GPU binaries
// where there is a GPU (src/engines/llamacpp/setup.ts says what and why). `--force` rebuilds the
// native binary even when the machine's cache has it (`pnpm --filter @llem/backends build:native`).
// It exits non-zero only when something asked for explicitly failed.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setupLlamaCpp } from "../dist/index.js";

const probe = join(dirname(fileURLToPath(import.meta.url)), "describe-llamacpp.mjs");

/** Loads the binary in a child process, so a build that crashes on load cannot take this one down. */
function describe() {
  const outcome = spawnSync(process.execPath, [probe, "--json"], {
    encoding: "utf8",
    timeout: 120_000,
  });
  try {
    const { detail, binary } = JSON.parse(outcome.stdout.trim().split("\n").at(-1));
    return { kind: binary?.kind ?? null, detail };
  } catch {
    return {
      kind: null,
      detail: `exit ${outcome.status ?? outcome.signal}: ${outcome.stderr.trim()}`,
    };
  }
}

const { record, failed } = await setupLlamaCpp({
  force: process.argv.includes("--force"),
  verify: describe,
});
if (record) console.log(`llem: ${describe().detail}`);
process.exit(failed ? 1 : 0);
