import { defineConfig } from "tsup";
import { base } from "../../tsup.base";

// worker.ts is the experiment process's entry (forked by runStudy from dist/worker.js).
// status.ts is `@llem/study/status`: what `llem status` needs, without loading the runner.
// worker-host.ts is `@llem/study/worker-host`: the pieces of an experiment process of one's own.
export default defineConfig({
  ...base,
  entry: ["src/index.ts", "src/worker.ts", "src/status.ts", "src/worker-host.ts"],
});
