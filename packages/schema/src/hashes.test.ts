import { describe, expect, it } from "vitest";
import { canonicalJson } from "./canonical.js";
import { LlemError } from "./errors.js";
import { withEngineSection } from "./experiment-config.js";
import {
  canonicalConfigJson,
  configHash,
  configHashOf,
  studyDesignHash,
  studyYamlHash,
} from "./hashes.js";
import { parseExperimentConfig } from "./parse.js";
import { seededRandom } from "./random.js";

/**
 * Golden vectors: these hashes are the identity of runs in manifests already on disk. A change here
 * breaks resume of every existing study, so it must be deliberate (and versioned).
 * The first vector was cross-checked with Python: sha256(canonical JSON)[:16].
 */
const TINY_HASH = "715b5e68b5b9bb2c";
const TINY_CANONICAL =
  '{"engine":"llamacpp","llamacpp":{"batch_size":1,"context_size":null,"flash_attention":false,"gpu_layers":0,"kv_cache_type":"f16","threads":null},"measurement":{"baseline":{"cache_ttl_seconds":3600,"duration_seconds":30,"enabled":true,"strategy":"cached"},"energy":{"cpu_watts_per_core":10,"sample_interval_ms":100,"sampler":"auto"},"thermal_floor_seconds":0,"warmup":{"cv_threshold":0.05,"enabled":true,"max_prompts":20,"mode":"fixed","n_warmup":3,"window_size":3}},"task":{"dataset":{"n_prompts":16,"order":"as_listed","source":"builtin:short"},"max_input_tokens":256,"max_output_tokens":64,"model":"synthetic:tiny","random_seed":42},"workload":{"concurrency":1,"mode":"batch"}}';

describe("configHash", () => {
  it("hashes exactly canonicalJson's bytes through the fast serialiser (500 random configs)", () => {
    const random = seededRandom(20_261_201);
    const pick = <T>(items: readonly T[]): T => items[random.below(items.length)] as T;
    for (let index = 0; index < 500; index++) {
      const config = parseExperimentConfig({
        task: {
          model: pick(["synthetic:tiny", 'modèle/é"q".gguf', "a\u0001b", "日本.gguf"]),
          max_output_tokens: 1 + random.below(1000),
          max_input_tokens: random.below(3) === 0 ? null : 1 + random.below(4096),
          random_seed: random.below(2 ** 31) - 2 ** 30,
          dataset: { n_prompts: 1 + random.below(64), order: pick(["as_listed", "shuffled"]) },
        },
        llamacpp: {
          batch_size: 1 + random.below(16),
          threads: random.below(2) === 0 ? null : 1 + random.below(8),
          flash_attention: random.below(2) === 1,
          kv_cache_type: pick(["f16", "q8_0", "f32"]),
        },
        measurement: {
          energy: { cpu_watts_per_core: 0.1 + random.nextFloat() * 100 },
          thermal_floor_seconds: random.nextFloat() * 1e-3,
        },
      });
      expect(canonicalConfigJson(config)).toBe(canonicalJson(withEngineSection(config)));
    }
  });

  it("matches the golden vector of the smallest config", () => {
    const config = parseExperimentConfig({ task: { model: "synthetic:tiny" } });
    expect(canonicalJson(config)).toBe(TINY_CANONICAL);
    expect(configHash(config)).toBe(TINY_HASH);
  });

  it("is the same for reordered keys and for defaults written out or omitted", () => {
    const written = {
      workload: { mode: "batch", concurrency: 1 },
      llamacpp: { threads: null, batch_size: 1, kv_cache_type: "f16" },
      task: { random_seed: 42, model: "synthetic:tiny", max_output_tokens: 64 },
      engine: "llamacpp",
      measurement: { energy: { sampler: "auto" }, thermal_floor_seconds: 0 },
    };
    expect(configHashOf(written)).toBe(TINY_HASH);
    expect(configHashOf({ task: { model: "synthetic:tiny" }, llamacpp: {} })).toBe(TINY_HASH);
  });

  it.each([
    ["model", { task: { model: "synthetic:small" } }],
    ["batch size", { task: { model: "synthetic:tiny" }, llamacpp: { batch_size: 2 } }],
    ["output tokens", { task: { model: "synthetic:tiny", max_output_tokens: 65 } }],
    ["seed", { task: { model: "synthetic:tiny", random_seed: 43 } }],
    [
      "sampler",
      { task: { model: "synthetic:tiny" }, measurement: { energy: { sampler: "none" } } },
    ],
    [
      "a nested default",
      { task: { model: "synthetic:tiny" }, measurement: { warmup: { cv_threshold: 0.051 } } },
    ],
  ])("changes when the %s changes", (_label, input) => {
    expect(configHashOf(input)).not.toBe(TINY_HASH);
  });

  it("keeps null apart from a value, and false from true", () => {
    const one = configHashOf({ task: { model: "m", max_input_tokens: 1 } });
    const none = configHashOf({ task: { model: "m", max_input_tokens: null } });
    expect(one).not.toBe(none);
    const off = configHashOf({ task: { model: "m" }, llamacpp: { flash_attention: false } });
    const on = configHashOf({ task: { model: "m" }, llamacpp: { flash_attention: true } });
    expect(off).not.toBe(on);
    // 0 vs false vs null as values of one field: canonical JSON keeps them apart (canonical.test.ts).
  });

  it("refuses invalid input with CONFIG_INVALID", () => {
    expect(() => configHashOf({ task: {} })).toThrowError(/task\.model: required/);
    try {
      configHashOf({});
    } catch (error) {
      expect(LlemError.hasCode(error, "CONFIG_INVALID")).toBe(true);
    }
  });
});

describe("studyYamlHash", () => {
  it("is the SHA-256 of the bytes, so a changed comment changes it", () => {
    expect(studyYamlHash("")).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    expect(studyYamlHash("a: 1\n")).not.toBe(studyYamlHash("a: 1 # note\n"));
    expect(studyYamlHash(new TextEncoder().encode("a: 1\n"))).toBe(studyYamlHash("a: 1\n"));
  });
});

describe("studyDesignHash", () => {
  const a = parseExperimentConfig({ task: { model: "synthetic:tiny" } });
  const b = parseExperimentConfig({ task: { model: "synthetic:small" } });
  it("depends on the configs and their declared order", () => {
    expect(studyDesignHash([a, b])).toMatch(/^[0-9a-f]{16}$/);
    expect(studyDesignHash([a, b])).not.toBe(studyDesignHash([b, a]));
    expect(studyDesignHash([a])).not.toBe(studyDesignHash([a, b]));
  });
});
