import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { buildFakeNvml, hasCCompiler, runProcess, tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { REPO, runCli, writeText } from "./helpers.js";

interface Finding {
  name: string;
  ok: boolean;
  detail: string;
}

/** What the engine really loads: a batch-1 engine prepared on the tiny model, in its own process. */
async function engineSettings(
  dir: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Record<string, unknown>> {
  const backends = pathToFileURL(join(REPO, "packages/backends/dist/index.js")).href;
  const schema = pathToFileURL(join(REPO, "packages/schema/dist/index.js")).href;
  // A file, not `node -e`: node-llama-cpp forks its binary test with the parent's execArgv.
  const probe = await writeText(
    dir,
    "probe.mjs",
    `import { LlamaCppEngine } from ${JSON.stringify(backends)};
import { parseExperimentConfig } from ${JSON.stringify(schema)};
const engine = new LlamaCppEngine(
  parseExperimentConfig({ task: { model: "synthetic:tiny" }, llamacpp: { batch_size: 1, threads: 1 } }),
  { cacheDir: ${JSON.stringify(join(dir, "cache"))} },
);
await engine.prepare({});
console.log(JSON.stringify(engine.resolvedSettings()));
await engine.dispose();
`,
  );
  const outcome = await runProcess(process.execPath, [probe], {
    env: { ...process.env, ...env },
    timeoutMs: 120_000,
  });
  expect(outcome.code, outcome.stderr).toBe(0);
  return JSON.parse(outcome.stdout.trim().split("\n").at(-1) as string);
}

describe("llem doctor", () => {
  it("reports the llama.cpp binary the engine actually loads, its CPU backend, and what the fallback costs", {
    timeout: 120_000,
  }, async () => {
    const outcome = await runCli(["doctor", "--json"]);
    expect([0, 1]).toContain(outcome.code);
    const report = JSON.parse(outcome.stdout) as { engines: Finding[] };
    const llamacpp = report.engines.find((finding) => finding.name === "llamacpp");
    expect(llamacpp?.ok).toBe(true);

    const settings = await engineSettings(await tempDir());
    const binary = settings.llama_binary as {
      kind: string;
      cpu_backend: string | null;
      build_key: string | null;
    };
    // Doctor names the CPU backend library the engine's process really mapped.
    if (binary.cpu_backend) expect(llamacpp?.detail).toContain(binary.cpu_backend);
    if (settings.binary === "prebuilt") {
      expect(binary.kind).toBe("prebuilt");
      expect(settings.evaluator).toBe("direct decode loop");
      expect(llamacpp?.detail).toMatch(
        /prebuilt \(fallback\): .*no native generation loop — .*Costs: .*half of llama\.cpp's own speed.*build:native/,
      );
    } else {
      expect(binary.kind).toBe("native build");
      expect(settings.evaluator).toBe("native generation loop (llemGenerate, build:native)");
      expect(llamacpp?.detail).toContain(`native build ${binary.build_key}: cpu`);
      expect(llamacpp?.detail).toMatch(/OpenMP, native generation loop — costs none at run time/);
    }
  });

  it("says the prebuilt binary is the fallback, why, and what it costs, when a process is told to load it", {
    timeout: 120_000,
  }, async () => {
    // Whatever this machine has (a native build or not), LLEM_LLAMACPP_BINARY=prebuilt makes
    // doctor and the engine load node-llama-cpp's prebuilt binary: both must say so.
    const env = { LLEM_LLAMACPP_BINARY: "prebuilt" };
    const outcome = await runCli(["doctor", "--json"], { env });
    expect([0, 1]).toContain(outcome.code);
    const report = JSON.parse(outcome.stdout) as { engines: Finding[] };
    const llamacpp = report.engines.find((finding) => finding.name === "llamacpp");
    expect(llamacpp?.ok).toBe(true);
    expect(llamacpp?.detail).toMatch(
      /node-llama-cpp prebuilt \(fallback\): cpu, .*no native generation loop — LLEM_LLAMACPP_BINARY=prebuilt\. Costs: .*half of llama\.cpp's own speed.*build:native/,
    );

    const settings = await engineSettings(await tempDir(), env);
    const binary = settings.llama_binary as { kind: string; cpu_backend: string | null };
    expect(settings.binary).toBe("prebuilt");
    expect(binary.kind).toBe("prebuilt");
    expect(settings.evaluator).toBe("direct decode loop");
    // The same CPU library in doctor's process and in the engine's.
    if (binary.cpu_backend) expect(llamacpp?.detail).toContain(`cpu, ${binary.cpu_backend}`);
  });
});

describe("llem doctor on energy components", () => {
  it("shows each component with its sampler and method, and what auto does here", async () => {
    const outcome = await runCli(["doctor", "--json"], {
      env: { LLEM_NVML_LIBRARY: "/nonexistent/libnvidia-ml.so.1" },
    });
    const report = JSON.parse(outcome.stdout) as {
      components: (Finding & { sampler: string; method: string })[];
      auto: Finding;
    };
    expect(report.components.map((c) => [c.name, c.sampler, c.method])).toEqual([
      ["gpu", "nvml", "measured"],
      ["cpu_package", "rapl", "measured"],
      ["dram", "rapl", "measured"],
      ["cpu_estimate", "estimate", "estimated"],
    ]);
    expect(report.components[0]).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/libnvidia-ml/),
    });
    const measurable = report.components.filter((c) => c.ok && c.method === "measured");
    expect(report.auto.detail).toMatch(
      measurable.length > 0
        ? /^measures /
        : /^nothing here can be measured, so results are the CPU estimate/,
    );
  });

  it.skipIf(!hasCCompiler())(
    "lists the GPUs NVML sees (stand-in library) and which ones gpus: auto gives",
    async () => {
      const library = await buildFakeNvml();
      const outcome = await runCli(["doctor", "--json"], {
        env: {
          LLEM_NVML_LIBRARY: library,
          FAKE_NVML_DEVICES: "4",
          CUDA_VISIBLE_DEVICES: "GPU-fa4e-2,MIG-fa4e-3b",
        },
      });
      const report = JSON.parse(outcome.stdout) as {
        components: (Finding & { devices: string[] })[];
        auto: Finding;
        gpus: Finding[];
      };
      expect(report.components[0]).toMatchObject({
        ok: true,
        devices: ["GPU-fa4e-2", "GPU-fa4e-3"],
      });
      expect(report.auto.detail).toMatch(/^measures gpu \(nvml: GPU-fa4e-2, GPU-fa4e-3\)/);
      const gpus = Object.fromEntries(report.gpus.map((g) => [g.name, g.detail]));
      expect(gpus.gpu2).toMatch(/module power/);
      expect(gpus.gpu3).toMatch(/MIG: MIG-fa4e-3a, MIG-fa4e-3b \(energy is per whole GPU\)/);
      expect(gpus["gpus: auto"]).toMatch(
        /^gpu2, gpu3 \(CUDA_VISIBLE_DEVICES=GPU-fa4e-2,MIG-fa4e-3b\)/,
      );
    },
    120_000,
  );
});
