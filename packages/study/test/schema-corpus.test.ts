/**
 * The shipped JSON Schemas agree with llem: a corpus of good and bad study files, each judged by
 * llem (`loadStudy`) and by two independent JSON Schema validators — ajv and @cfworker/json-schema,
 * two separate implementations of draft 2020-12. Whatever llem accepts the schemas accept;
 * whatever llem rejects they reject, except the files marked `# runtime-only: <why>` in their
 * first line: checks a JSON Schema cannot express (listed in @llem/schema's README), which both
 * validators must then accept, so the list stays exact.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Validator } from "@cfworker/json-schema";
import { LlemError } from "@llem/schema";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadStudy } from "../src/load.js";

const corpus = fileURLToPath(new URL("./schema-corpus/", import.meta.url));
const require = createRequire(import.meta.url);
const shipped = (name: string) =>
  JSON.parse(readFileSync(require.resolve(`@llem/schema/schemas/${name}.json`), "utf8"));

type Check = (data: unknown) => { valid: boolean; errors: string };

/** Both validators over one schema; each says valid or not, with its errors. */
function validators(name: string): Record<"ajv" | "cfworker", Check> {
  const schema = shipped(name);
  // strict: the schema itself must be clean draft 2020-12 (no allowUnionTypes needed).
  const ajv = new Ajv2020({ allErrors: true, strict: true, validateFormats: false }).compile(
    schema,
  );
  const cfworker = new Validator(schema, "2020-12", false);
  return {
    ajv: (data) => ({ valid: ajv(data) === true, errors: JSON.stringify(ajv.errors) }),
    cfworker: (data) => {
      const outcome = cfworker.validate(data);
      return { valid: outcome.valid, errors: JSON.stringify(outcome.errors.slice(0, 5)) };
    },
  };
}

const studySchema = validators("study-config");
const experimentSchema = validators("experiment-config");
const files = (kind: "good" | "bad") =>
  readdirSync(join(corpus, kind)).filter((name) => name.endsWith(".yaml"));
const read = (kind: "good" | "bad", name: string) => {
  const text = readFileSync(join(corpus, kind, name), "utf8");
  return { path: join(corpus, kind, name), text, data: parse(text) as unknown };
};

function expectVerdict(checks: Record<string, Check>, data: unknown, valid: boolean, what: string) {
  for (const [validator, check] of Object.entries(checks)) {
    const outcome = check(data);
    expect(outcome.valid, `${validator} on ${what}: ${outcome.errors}`).toBe(valid);
  }
}

describe("schema corpus: llem and two JSON Schema validators agree", () => {
  it("the corpus has good and bad files", () => {
    expect(files("good").length).toBeGreaterThanOrEqual(8);
    expect(files("bad").length).toBeGreaterThanOrEqual(15);
  });

  it.each(files("good"))("good/%s: llem accepts it, both validators accept it", async (name) => {
    const { path, data } = read("good", name);
    const loaded = await loadStudy(path);
    expectVerdict(studySchema, data, true, `${name} (study-config.json)`);
    // A file llem runs as one experiment is an experiment config (experiment-config.json).
    if (loaded.kind === "experiment") {
      expectVerdict(experimentSchema, data, true, `${name} (experiment-config.json)`);
    }
    // Every config it expands to, with every default filled in, is an experiment config too.
    for (const { config, summary } of loaded.configs) {
      expectVerdict(experimentSchema, config, true, `${name}: ${summary}`);
    }
  });

  it.each(files("bad"))("bad/%s: llem rejects it, both validators agree", async (name) => {
    const { path, text, data } = read("bad", name);
    const error = await loadStudy(path).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(LlemError.isInstance(error), `llem accepted ${name}`).toBe(true);
    expect((error as LlemError).code).toMatch(/^(CONFIG_INVALID|CONFIG_PARSE|NOTHING_TO_RUN)$/);
    const runtimeOnly = /^# runtime-only: /.test(text);
    expectVerdict(studySchema, data, runtimeOnly, `${name} (study-config.json)`);
    const hasStudyKeys = [
      "study_name",
      "base",
      "sweep",
      "experiments",
      "study_execution",
      "output",
    ].some((key) => Object.hasOwn(data as object, key));
    if (!hasStudyKeys) {
      expectVerdict(experimentSchema, data, runtimeOnly, `${name} (experiment-config.json)`);
    }
  });
});
