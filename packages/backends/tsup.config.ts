import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";
import { base } from "../../tsup.base";

// tsup keeps `dependencies` and `peerDependencies` external but would bundle optional ones:
// koffi and node-llama-cpp (native addons, imported lazily) stay imports of the installed packages.
const { optionalDependencies } = JSON.parse(
  readFileSync(new URL("package.json", import.meta.url), "utf8"),
) as { optionalDependencies: Record<string, string> };

// files.ts is `@llem/backends/files`: reading untrusted files (regular only, bounded), light enough
// for `llem status`, which must not load the engines' registry.
export default defineConfig({
  ...base,
  entry: ["src/index.ts", "src/files.ts"],
  external: Object.keys(optionalDependencies),
});
