import { defineConfig } from "tsup";
import { base } from "../../tsup.base";

// worker.ts is the experiment process's entry (forked by runStudy from dist/worker.js).
// study-worker.ts is one worker process of `llem run --workers N` (dist/study-worker.js).
// status-entry.ts is `@llem/study/status`: what `llem status` needs, without loading the runner.
// worker-host.ts is `@llem/study/worker-host`: the pieces of an experiment process of one's own.
// report/index.ts is `@llem/study/report`: what `llem report` needs, without the runner either.
// report/client/main.ts is the report page's script, bundled for the browser into
// dist/report-client.js, which the report inlines (the first build leaves that file alone).
export default defineConfig([
  {
    ...base,
    entry: {
      index: "src/index.ts",
      worker: "src/worker.ts",
      "study-worker": "src/study-worker.ts",
      status: "src/status-entry.ts",
      "worker-host": "src/worker-host.ts",
      report: "src/report/index.ts",
    },
    clean: ["!report-client.js"],
  },
  {
    entry: { "report-client": "src/report/client/main.ts" },
    outDir: "dist",
    format: ["iife"],
    platform: "browser",
    target: "es2020",
    tsconfig: "src/report/client/tsconfig.json",
    minify: true,
    dts: false,
    sourcemap: false,
    clean: false,
    outExtension: () => ({ js: ".js" }),
  },
]);
