import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const distEntry = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const probe = fileURLToPath(new URL("./fixtures/lazy-import-probe.mjs", import.meta.url));

// The child reads its own memory map: the native addon shows up there once node-llama-cpp loads it.
function run(mode: "import-only" | "use-llama"): { addon: boolean; exports: number } {
  const child = spawnSync(process.execPath, [probe, mode], { encoding: "utf8" });
  expect(child.status, child.stderr).toBe(0);
  return JSON.parse(child.stdout.trim().split("\n").pop() as string);
}

describe("node-llama-cpp is loaded lazily", () => {
  it.skipIf(!existsSync(distEntry) || !existsSync("/proc/self/maps"))(
    "importing @llem/backends does not load the native addon; preparing an engine does",
    { timeout: 60_000 },
    () => {
      const imported = run("import-only");
      expect(imported.exports).toBeGreaterThan(10);
      expect(imported.addon).toBe(false);
      // Control: the same probe sees the addon once node-llama-cpp is actually used.
      expect(run("use-llama").addon).toBe(true);
    },
  );
});
