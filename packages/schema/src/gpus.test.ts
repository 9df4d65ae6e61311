import { describe, expect, it } from "vitest";
import { gpuCountIssues, parallelGpuCount } from "./gpus.js";
import { configHashOf } from "./hashes.js";
import { parseExperimentConfig, safeParseExperimentConfig } from "./parse.js";
import { safeParseStudyConfig } from "./study-config.js";

const issuesOf = (input: unknown) => {
  const outcome = safeParseExperimentConfig(input);
  return outcome.success ? [] : outcome.issues;
};

describe("gpus", () => {
  it("takes auto, indices, UUIDs, MIG instances and [] (no GPU)", () => {
    for (const gpus of [
      "auto",
      [0, 1],
      ["GPU-8f3c2a1e-1b2c-4d5e-8f90-123456789abc"],
      ["GPU-8f3c"],
      ["MIG-4a1b2c3d-0000-1111-2222-333344445555"],
      ["MIG-GPU-8f3c2a1e-1b2c-4d5e-8f90-123456789abc/1/0"],
      [2, "GPU-8f3c"],
      [],
    ]) {
      expect(issuesOf({ task: { model: "m" }, gpus })).toEqual([]);
    }
  });

  it("says what a GPU id looks like, and refuses a GPU listed twice", () => {
    const [text] = issuesOf({ task: { model: "m" }, gpus: ["0"] });
    expect(text?.path).toBe("gpus[0]");
    expect(text?.message).toMatch(/write an index as a number/);
    const [twice] = issuesOf({ task: { model: "m" }, gpus: [1, 1] });
    expect(twice).toEqual({ path: "gpus", message: "lists a GPU twice" });
    expect(issuesOf({ task: { model: "m" }, gpus: "0,1" })[0]?.path).toBe("gpus");
  });

  it("hashes gpus: auto like a config without the field (the golden hashes stand)", () => {
    const plain = { task: { model: "synthetic:tiny" } };
    expect(configHashOf({ ...plain, gpus: "auto" })).toBe(configHashOf(plain));
    expect(parseExperimentConfig({ ...plain, gpus: "auto" })).not.toHaveProperty("gpus");
    expect(configHashOf({ ...plain, gpus: [0] })).not.toBe(configHashOf(plain));
  });

  it("is a shared study field and sweeps as a list of lists", () => {
    const outcome = safeParseStudyConfig({
      task: { model: "m" },
      gpus: [0],
      sweep: { gpus: [[0], [1], [0, 1]] },
    });
    expect(outcome.success).toBe(true);
    // A list-valued field and scalars in one axis: sampler auto, or a list of samplers.
    const mixed = safeParseStudyConfig({
      task: { model: "m" },
      sweep: { "measurement.energy.sampler": ["auto", ["nvml", "rapl"]] },
    });
    expect(mixed.success).toBe(true);
    const bad = safeParseStudyConfig({ task: { model: "m" }, sweep: { gpus: [[0, 0]] } });
    expect(bad.success ? [] : bad.issues.map((issue) => issue.path)).toEqual(["sweep.gpus[0]"]);
  });
});

describe("tensor parallelism against the GPU count", () => {
  const server = (gpus: unknown, section: Record<string, unknown>) => ({
    task: { model: "m" },
    engine: "vllm",
    vllm: section,
    gpus,
  });

  it("is a config error naming both the list and the parallelism", () => {
    const issues = issuesOf(server([0, 1], { tensor_parallel_size: 4 }));
    expect(issues).toEqual([
      {
        path: "gpus",
        message:
          "lists 2 GPU(s), but vllm.tensor_parallel_size 4 use 4; list 4 GPU(s) or change the parallelism",
      },
    ]);
    expect(issuesOf(server([0, 1, 2, 3], { tensor_parallel_size: 4 }))).toEqual([]);
  });

  it("multiplies pipeline parallelism in where a section has it", () => {
    const config = {
      engine: "x",
      x: { tensor_parallel_size: 2, pipeline_parallel_size: 2 },
      gpus: [0, 1],
    };
    expect(parallelGpuCount(config)).toEqual({
      count: 4,
      fields: ["x.tensor_parallel_size 2", "x.pipeline_parallel_size 2"],
    });
    expect(gpuCountIssues(config)[0]?.message).toMatch(
      /x\.tensor_parallel_size 2 × x\.pipeline_parallel_size 2 use 4/,
    );
  });

  it("leaves auto (checked on the machine) and engines without parallelism alone", () => {
    expect(issuesOf(server("auto", { tensor_parallel_size: 4 }))).toEqual([]);
    expect(issuesOf({ task: { model: "m" }, gpus: [0, 1] })).toEqual([]);
  });
});
