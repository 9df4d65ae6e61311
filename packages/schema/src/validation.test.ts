import { describe, expect, it } from "vitest";
import { LlemError } from "./errors.js";
import { parseExperimentConfig, safeParseExperimentConfig } from "./parse.js";
import { parseStudyConfig, safeParseStudyConfig } from "./study-config.js";
import { ConfigValidationError } from "./validation.js";

function issuesOf(input: unknown) {
  const outcome = safeParseExperimentConfig(input);
  if (outcome.success) throw new Error("expected problems");
  return outcome.issues;
}

describe("experiment config problems", () => {
  it("reports every problem at once, each with its path", () => {
    const issues = issuesOf({
      task: { model: "m", max_output_token: 3, dataset: { n_prompts: 0 } },
      llamacp: {},
      vllm: {},
      measurement: { energy: { sampler: "zeus" } },
    });
    expect(issues.map((issue) => issue.path).sort()).toEqual([
      "llamacp",
      "measurement.energy.sampler",
      "task.dataset.n_prompts",
      "task.max_output_token",
      "vllm",
    ]);
  });

  it("suggests the closest key for an unknown one", () => {
    const [issue] = issuesOf({ task: { model: "m", max_output_token: 3 } });
    expect(issue).toMatchObject({ suggestion: "max_output_tokens" });
    expect(issue?.message).toBe('unknown key; did you mean "max_output_tokens"?');
  });

  it("lists the valid keys when nothing is close", () => {
    const [issue] = issuesOf({ task: { model: "m" }, zzzzzzzz: 1 });
    expect(issue?.message).toMatch(/^unknown key; expected one of "task", "engine"/);
  });

  it("a value one typo away from an allowed one gets a did-you-mean", () => {
    const [issue] = issuesOf({ task: { model: "m" }, engine: "llamacp" });
    expect(issue?.message).toMatch(/got "llamacp"; did you mean "llamacpp"\?$/);
    expect(issue?.suggestion).toBe("llamacpp");
    const study = safeParseStudyConfig({ task: { model: "m" }, engine: ["llamacpp", "vlm"] });
    expect(study.success).toBe(false);
    if (!study.success) {
      expect(study.issues).toHaveLength(1);
      expect(study.issues[0]).toMatchObject({ path: "engine[1]", suggestion: "vllm" });
    }
  });

  it("names YAML's .nan and .inf as such, not as null (JSON cannot print them)", () => {
    expect(issuesOf({ task: { model: "m", max_output_tokens: Number.NaN } })[0]?.message).toBe(
      "expected number, got NaN",
    );
    expect(
      issuesOf({ task: { model: "m" }, llamacpp: { batch_size: Number.POSITIVE_INFINITY } })[0]
        ?.message,
    ).toMatch(/got Infinity$/);
  });

  it("says what was expected and what was found", () => {
    expect(issuesOf({ task: { model: "m" }, llamacpp: { batch_size: "four" } })[0]?.message).toBe(
      'expected number, got "four"',
    );
    expect(issuesOf({ task: { model: "m" }, llamacpp: { batch_size: 1.5 } })[0]?.message).toBe(
      "expected int, got 1.5",
    );
    expect(issuesOf({ task: { model: "m" }, llamacpp: { kv_cache_type: "q9" } })[0]?.message).toBe(
      'expected one of "f32", "f16", "q8_0", "q4_0", got "q9"',
    );
    expect(issuesOf({ task: {} })[0]).toEqual({
      path: "task.model",
      message: "required: expected string",
    });
  });

  it("checks fields against each other", () => {
    expect(issuesOf({ task: { model: "m" }, engine: "openai" })[0]?.path).toBe("openai.endpoint");
    expect(
      issuesOf({
        task: { model: "m" },
        llamacpp: { batch_size: 2 },
        workload: { mode: "concurrent", concurrency: 4 },
      })[0]?.path,
    ).toBe("workload.concurrency");
  });

  it("throws one ConfigValidationError naming the file", () => {
    try {
      parseExperimentConfig({ task: { model: 3 } }, "exp.yaml");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigValidationError);
      expect(LlemError.hasCode(error, "CONFIG_INVALID")).toBe(true);
      expect((error as Error).message).toBe(
        "exp.yaml: experiment config has 1 problem:\n  - task.model: expected string, got 3",
      );
    }
  });
});

describe("study problems", () => {
  it("checks sweep keys and every sweep value against the experiment model", () => {
    const outcome = safeParseStudyConfig({
      task: { model: "synthetic:tiny", modle: 1 },
      sweep: {
        "llamacpp.batch_size": [1, 2, -4],
        "llamacpp.bach_size": [1],
        variants: [{}, { "llamacpp.kv_cache_type": "q9" }],
        mixed: [{ "task.model": "a" }, 3],
      },
      study_execution: { n_cycle: 2, experiment_order: "random" },
    });
    expect(outcome.success).toBe(false);
    if (outcome.success) return;
    const byPath = Object.fromEntries(outcome.issues.map((issue) => [issue.path, issue.message]));
    expect(byPath).toEqual({
      "study_execution.n_cycle": 'unknown key; did you mean "n_cycles"?',
      "study_execution.experiment_order":
        'expected one of "sequential", "interleave", "shuffle", "reverse", "latin_square", got "random"',
      "task.modle": 'unknown key; did you mean "model"?',
      "sweep.llamacpp.batch_size[2]": "expected ≥ 1, got -4",
      "sweep.llamacpp.bach_size":
        'unknown experiment field "llamacpp.bach_size"; did you mean "llamacpp.batch_size"?',
      "sweep.variants[1].llamacpp.kv_cache_type":
        'expected one of "f32", "f16", "q8_0", "q4_0", got "q9"',
      "sweep.mixed":
        "mixes mappings and values; use a list of values (an axis) or of mappings (a group)",
    });
  });

  it("checks explicit experiments and unknown top-level keys", () => {
    const outcome = safeParseStudyConfig({
      name: "old-style",
      experiments: [{ task: { model: "m" }, llamacpp: { threads: 0 } }],
    });
    expect(outcome.success).toBe(false);
    if (outcome.success) return;
    expect(outcome.issues.map((issue) => issue.path)).toEqual([
      "name",
      "experiments[0].llamacpp.threads",
    ]);
  });

  it("accepts a valid study and fills execution defaults", () => {
    const study = parseStudyConfig({
      study_name: "quick",
      task: { model: "synthetic:tiny" },
      sweep: { "llamacpp.batch_size": [1, 2], "task.model": ["synthetic:tiny", "synthetic:small"] },
      study_execution: { n_cycles: 2 },
    });
    expect(study.study_execution).toMatchObject({ n_cycles: 2, experiment_order: "interleave" });
    expect(study.output.results_dir).toBe("results");
  });
});
