import { defineConfig } from "tsup";
import { base } from "../../tsup.base";

// dist/worker.js is what tests and benches point a study's runner at (LLEM_STUDY_WORKER).
export default defineConfig({ ...base, entry: ["src/worker.ts"], dts: false });
