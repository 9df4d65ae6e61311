import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { jsonSchemaFor, PUBLIC_FORMATS, type PublicFormat } from "./json-schema.js";
import { parseExperimentConfig } from "./parse.js";
import { StudyManifest } from "./study-manifest.js";

const schemaFile = (name: string) => new URL(`../schemas/${name}.json`, import.meta.url);
const committed = (name: string) => JSON.parse(readFileSync(schemaFile(name), "utf8"));
const ajv = () =>
  new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, validateFormats: false });

describe("shipped JSON Schemas", () => {
  it.each(Object.keys(PUBLIC_FORMATS))(
    "schemas/%s.json matches the zod model (run `pnpm --filter @llem/schema gen:schemas` after a model change)",
    (name) => {
      expect(committed(name)).toEqual(jsonSchemaFor(name as PublicFormat));
    },
  );

  it("every shipped schema compiles under a standard draft 2020-12 validator", () => {
    for (const name of Object.keys(PUBLIC_FORMATS)) {
      expect(() => ajv().compile(committed(name))).not.toThrow();
    }
  });
});

describe("the seed's study_manifest.json example", () => {
  const seed = JSON.parse(
    readFileSync(new URL("./__fixtures__/seed-study-manifest.json", import.meta.url), "utf8"),
  );

  it("parses with StudyManifest", () => {
    const parsed = StudyManifest.parse(seed);
    expect(parsed.experiments.map((entry) => entry.status)).toEqual(["completed", "pending"]);
  });

  it("validates against the shipped JSON Schema with ajv", () => {
    const validate = ajv().compile(committed("study-manifest"));
    expect(validate(seed), JSON.stringify(validate.errors)).toBe(true);
  });

  it("is rejected by both when a status is not one of the seed's four", () => {
    const bad = structuredClone(seed);
    bad.experiments[1].status = "skipped";
    expect(StudyManifest.safeParse(bad).success).toBe(false);
    expect(ajv().compile(committed("study-manifest"))(bad)).toBe(false);
  });
});

describe("a validated experiment config", () => {
  it("validates against the shipped experiment-config schema", () => {
    const config = parseExperimentConfig({ task: { model: "synthetic:tiny" } });
    const validate = ajv().compile(committed("experiment-config"));
    expect(validate(config), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ task: { model: "m" }, bogus: 1 })).toBe(false);
  });
});
