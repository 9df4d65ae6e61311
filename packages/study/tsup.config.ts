import { defineConfig } from "tsup";
import { base } from "../../tsup.base";

// worker.ts is the experiment process's entry (forked by runStudy from dist/worker.js).
export default defineConfig({ ...base, entry: ["src/index.ts", "src/worker.ts"] });
