import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runProcess, tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { linkedNativeBuild } from "./native-build.js";
import { nodeLlamaCppPackageDir } from "./node-llama-cpp.js";

const backendsDir = join(fileURLToPath(import.meta.url), "..", "..", "..", "..");
const dist = pathToFileURL(join(backendsDir, "dist", "index.js")).href;

/** A batch-1 experiment on the tiny model in a fresh process, with `env`: its engine settings and versions. */
async function runIn(env: Record<string, string>) {
  const dir = await tempDir();
  const script = join(dir, "probe.mjs");
  // A file, not `node -e`: node-llama-cpp forks its binary test with the parent's execArgv.
  await writeFile(
    script,
    `import { runExperiment } from ${JSON.stringify(dist)};
const result = await runExperiment(
  { task: { model: "synthetic:tiny", dataset: { n_prompts: 1 }, max_output_tokens: 4 },
    llamacpp: { threads: 1, batch_size: 1 },
    measurement: { energy: { sampler: "none" }, baseline: { enabled: false }, warmup: { mode: "fixed", n_warmup: 1 } } },
  { cacheDir: ${JSON.stringify(join(dir, "cache"))} },
);
console.log(JSON.stringify({ settings: result.engine_settings, versions: result.environment.engine_versions }));
`,
  );
  const outcome = await runProcess(process.execPath, [script], {
    env: { ...process.env, ...env },
    timeoutMs: 120_000,
  });
  return {
    ...outcome,
    parsed:
      outcome.code === 0 ? JSON.parse(outcome.stdout.trim().split("\n").at(-1) as string) : null,
  };
}

const native = (() => {
  const dir = nodeLlamaCppPackageDir();
  return dir !== null && linkedNativeBuild(dir)?.record != null;
})();

describe("the llama.cpp binary in each result", () => {
  it("records which binary ran, its CPU backend library and OpenMP, and labels the prebuilt as the fallback", {
    timeout: 180_000,
  }, async () => {
    const prebuilt = await runIn({ LLEM_LLAMACPP_BINARY: "prebuilt" });
    expect(prebuilt.code, prebuilt.stderr).toBe(0);
    const binary = prebuilt.parsed.settings.llama_binary;
    expect(prebuilt.parsed.settings.binary).toBe("prebuilt");
    expect(binary).toMatchObject({
      kind: "prebuilt",
      native_loop: false,
      fallback_reason: "LLEM_LLAMACPP_BINARY=prebuilt",
      gpu: false,
    });
    expect(binary.cost).toMatch(/^fallback: /);
    if (process.platform === "linux") {
      // One of node-llama-cpp's per-CPU variants, and the one really mapped into the process.
      expect(binary.cpu_backend).toMatch(/^libggml-cpu-[a-z0-9_.]+\.so$/);
      expect(binary.openmp).toBe(false);
    }
    expect(prebuilt.parsed.versions["llama.cpp-binary"]).toMatch(
      /^node-llama-cpp prebuilt \(fallback\): cpu, /,
    );

    const preferred = await runIn({ LLEM_LLAMACPP_BINARY: "auto" });
    expect(preferred.code, preferred.stderr).toBe(0);
    const chosen = preferred.parsed.settings.llama_binary;
    if (native) {
      const dir = nodeLlamaCppPackageDir() as string;
      expect(chosen).toMatchObject({
        kind: "native build",
        native_loop: true,
        fallback_reason: null,
        build_key: linkedNativeBuild(dir)?.key,
      });
      if (process.platform === "linux") expect(chosen.openmp).toBe(true);
      expect(preferred.parsed.settings.evaluator).toBe(
        "native generation loop (llemGenerate, build:native)",
      );
      expect(preferred.parsed.versions["llama.cpp-binary"]).toContain(
        `native build ${chosen.build_key}`,
      );
    } else {
      expect(chosen.kind).toBe("prebuilt");
      expect(chosen.fallback_reason).toMatch(/native build|LLEM_NATIVE_BUILD/);
    }
  });

  it("refuses LLEM_LLAMACPP_BINARY=native without a native build, and a value it does not know", {
    timeout: 180_000,
  }, async () => {
    const unknown = await runIn({ LLEM_LLAMACPP_BINARY: "fastest" });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(
      /LLEM_LLAMACPP_BINARY is "fastest"; expected auto, prebuilt or native/,
    );
    const required = await runIn({ LLEM_LLAMACPP_BINARY: "native" });
    if (native) expect(required.code, required.stderr).toBe(0);
    else expect(required.stderr).toMatch(/no native llama\.cpp build/);
  });
});
