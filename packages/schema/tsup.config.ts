import { defineConfig } from "tsup";
import { base } from "../../tsup.base";

// errors-entry.ts is `@llem/schema/errors`: LlemError, its codes and closestMatch without zod, for
// error paths that must stay light (the CLI's). Splitting puts errors.ts in one chunk that both
// entries import, so there is one LlemError class at run time, whichever entry loads it.
export default defineConfig({
  ...base,
  entry: { index: "src/index.ts", errors: "src/errors-entry.ts" },
  splitting: true,
});
