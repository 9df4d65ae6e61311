import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const distEntry = fileURLToPath(new URL("../dist/index.js", import.meta.url));
// node-llama-cpp resolves from the package's own node_modules, not from the repo root.
const packageDir = fileURLToPath(new URL("..", import.meta.url));

// Reads the child's own memory map: the native addon shows up there once node-llama-cpp loads it.
const script = (afterImport: string) => `
import { readFileSync } from "node:fs";
const m = await import(${JSON.stringify(distEntry)});
${afterImport}
const maps = readFileSync("/proc/self/maps", "utf8");
console.log(JSON.stringify({ addon: maps.includes("llama-addon.node"), exports: Object.keys(m).length }));
`;

function run(afterImport: string): { addon: boolean; exports: number } {
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script(afterImport)], {
    cwd: packageDir,
    encoding: "utf8",
  });
  expect(child.status, child.stderr).toBe(0);
  return JSON.parse(child.stdout.trim().split("\n").pop() as string);
}

describe("node-llama-cpp is loaded lazily", () => {
  it.skipIf(!existsSync(distEntry) || !existsSync("/proc/self/maps"))(
    "importing @llem/backends does not load the native addon; preparing an engine does",
    { timeout: 60_000 },
    () => {
      const imported = run("");
      expect(imported.exports).toBeGreaterThan(10);
      expect(imported.addon).toBe(false);
      // Control: the same probe sees the addon once node-llama-cpp is actually used.
      const used = run(
        `await (await import("node-llama-cpp")).getLlama({ gpu: false, build: "never", logLevel: "error" });`,
      );
      expect(used.addon).toBe(true);
    },
  );
});
