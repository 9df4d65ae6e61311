import { defineConfig } from "tsup";
import { base } from "../../tsup.base";

// errors.ts is also `@llem/schema/errors`: LlemError and its codes without zod, for error paths
// that must stay light (the CLI's). Splitting puts errors.ts in one chunk that both entries import,
// so there is one LlemError class at run time, whichever entry a program loads it from.
export default defineConfig({ ...base, entry: ["src/index.ts", "src/errors.ts"], splitting: true });
