import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";
import { base } from "../../tsup.base";

// The version comes from @llem/schema (packages are released together) and is inlined, so
// `llem --version` needs no package import at run time.
const { version } = JSON.parse(
  readFileSync(new URL("../../packages/schema/package.json", import.meta.url), "utf8"),
) as { version: string };

export default defineConfig({
  ...base,
  entry: ["src/cli.ts"],
  dts: false,
  // Chunks per command keep their imports off the `llem --help` path.
  splitting: true,
  define: { __LLEM_VERSION__: JSON.stringify(version) },
});
