import type { Options } from "tsup";

/** Shared build options: plain ones only, so a later switch to tsdown stays mechanical. */
export const base: Options = {
  entry: ["src/index.ts"],
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  platform: "node",
  target: "node20",
  splitting: false,
  // Class names survive bundling (an error prints as LlemError, never as a renamed LlemError2).
  keepNames: true,
};
