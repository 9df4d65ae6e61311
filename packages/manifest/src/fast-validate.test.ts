import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LlemError, ManifestEntry, StudyManifest } from "@llem/schema";
import { describe, expect, it } from "vitest";
import { testDir } from "../test/helpers.js";
import { fastParseManifest, isValidManifestEntry } from "./fast-validate.js";
import { MANIFEST_FILE_NAME, readManifest } from "./index.js";

const validEntry = {
  config_hash: "00000000000000ab",
  config_summary: "llamacpp / synthetic:tiny / batch=4",
  cycle: 2,
  status: "completed",
  result_file: "experiments/ab/result.json",
  error_type: null,
  error_message: null,
  started_at: "2026-01-01T00:00:00Z",
  completed_at: "2026-01-01T00:00:01.250Z",
  attempts: 1,
  lease: null,
};

const lease = { worker: "w1", host: "h", pid: 42, heartbeat_at: "2026-01-01T00:00:00Z" };

/** Entries zod accepts: the fast check must accept every one. */
const accepted: [string, Record<string, unknown>][] = [
  ["a complete entry", validEntry],
  [
    "the seed's minimal entry (optional fields absent)",
    { config_hash: "a", config_summary: "", cycle: 1, status: "pending" },
  ],
  ["a running entry with a lease", { ...validEntry, status: "running", lease }],
  ["a lease with extra fields", { ...validEntry, lease: { ...lease, gpu: 0 } }],
  ["extra fields (a newer writer)", { ...validEntry, energy_j: 12.5 }],
  ["a timestamp with an offset", { ...validEntry, started_at: "2026-01-01T01:00:00+01:00" }],
  ["a leap day", { ...validEntry, started_at: "2024-02-29T00:00:00Z" }],
  ["zero attempts", { ...validEntry, attempts: 0 }],
  ["a large cycle", { ...validEntry, cycle: 2 ** 40 }],
  ["a float-typed integer", { ...validEntry, cycle: 3.0 }],
  ["every status: failed", { ...validEntry, status: "failed", error_type: "X" }],
];

/** Entries zod rejects: the fast check must reject every one. */
const rejected: [string, unknown][] = [
  ["a wrong status", { ...validEntry, status: "done" }],
  ["a status in capitals", { ...validEntry, status: "Completed" }],
  ["config_hash missing", { ...validEntry, config_hash: undefined }],
  ["config_hash empty", { ...validEntry, config_hash: "" }],
  ["config_hash a number", { ...validEntry, config_hash: 12 }],
  ["config_summary missing", { ...validEntry, config_summary: undefined }],
  ["config_summary null", { ...validEntry, config_summary: null }],
  ["a non-integer cycle", { ...validEntry, cycle: 1.5 }],
  ["cycle zero", { ...validEntry, cycle: 0 }],
  ["cycle a string", { ...validEntry, cycle: "1" }],
  ["cycle beyond safe integers", { ...validEntry, cycle: 2 ** 60 }],
  ["a bad timestamp", { ...validEntry, started_at: "yesterday" }],
  ["a timestamp without a zone", { ...validEntry, started_at: "2026-01-01T00:00:00" }],
  ["a date-only timestamp", { ...validEntry, completed_at: "2026-01-01" }],
  ["February 30", { ...validEntry, completed_at: "2026-02-30T00:00:00Z" }],
  ["a timestamp that is a number", { ...validEntry, started_at: 1_767_225_600 }],
  ["result_file a number", { ...validEntry, result_file: 3 }],
  ["error_type an object", { ...validEntry, error_type: {} }],
  ["error_message a boolean", { ...validEntry, error_message: false }],
  ["negative attempts", { ...validEntry, attempts: -1 }],
  ["fractional attempts", { ...validEntry, attempts: 0.5 }],
  ["attempts null", { ...validEntry, attempts: null }],
  ["a lease without a pid", { ...validEntry, lease: { ...lease, pid: undefined } }],
  ["a lease with a bad heartbeat", { ...validEntry, lease: { ...lease, heartbeat_at: "now" } }],
  ["a lease that is a string", { ...validEntry, lease: "w1" }],
  ["an array", [validEntry]],
  ["null", null],
  ["a string", "entry"],
];

/** JSON has no undefined: drop keys set to undefined above, as a file would. */
function asJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value) ?? "null");
}

describe("the fast manifest entry check", () => {
  it.each(accepted)("accepts what zod accepts: %s", (_name, entry) => {
    const value = asJson(entry);
    expect(ManifestEntry.safeParse(value).success).toBe(true);
    expect(isValidManifestEntry(value)).toBe(true);
  });

  it.each(rejected)("rejects what zod rejects: %s", (_name, entry) => {
    const value = asJson(entry);
    expect(ManifestEntry.safeParse(value).success).toBe(false);
    expect(isValidManifestEntry(value)).toBe(false);
  });

  it("gives the same manifest as zod, header defaults included", () => {
    const document = asJson({
      study_name: "s",
      study_yaml_hash: "h",
      study_yaml_path: "/s.yaml",
      llenergymeasure_version: "0.1",
      started_at: "2026-01-01T00:00:00Z",
      experiments: [validEntry, { ...validEntry, cycle: 3, extra: [1] }],
    });
    const fast = fastParseManifest(document);
    expect(fast).toEqual(StudyManifest.parse(document));
    expect(fast?.schema_version).toBe("2.0");
  });

  it("rejects a manifest whose header or entry list zod rejects", () => {
    const header = {
      schema_version: "2.0",
      study_name: "s",
      study_yaml_hash: "h",
      study_yaml_path: "/s.yaml",
      llenergymeasure_version: "0.1",
      started_at: "2026-01-01T00:00:00Z",
    };
    for (const document of [
      { ...header, experiments: {} },
      { ...header, experiments: [validEntry, { ...validEntry, status: "done" }] },
      { ...header, started_at: "soon", experiments: [] },
      { ...header, study_name: undefined, experiments: [] },
      { ...header, status: "paused", experiments: [] },
      { ...header, revision: -1, experiments: [] },
    ]) {
      const value = asJson(document);
      expect(StudyManifest.safeParse(value).success).toBe(false);
      expect(fastParseManifest(value)).toBeUndefined();
    }
  });
});

describe("readManifest with the fast check", () => {
  const header = {
    schema_version: "2.0",
    study_name: "s",
    study_yaml_hash: "h",
    study_yaml_path: "/s.yaml",
    llenergymeasure_version: "0.1",
    started_at: "2026-01-01T00:00:00Z",
  };

  async function errorReading(experiments: unknown[]): Promise<LlemError> {
    const dir = await testDir();
    // Compact, as llem writes large studies.
    await writeFile(join(dir, MANIFEST_FILE_NAME), JSON.stringify({ ...header, experiments }));
    const error = await readManifest(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(LlemError.isInstance(error), `expected an LlemError, got ${String(error)}`).toBe(true);
    return error as LlemError;
  }

  it("still names the first problem (zod's message) in MANIFEST_CORRUPT", async () => {
    const many = Array.from({ length: 2000 }, (_, index) => ({
      ...validEntry,
      config_hash: index.toString(16).padStart(16, "0"),
    }));
    many[1500] = { ...many[1500]!, cycle: 1.5 };
    many[1700] = { ...many[1700]!, status: "done" };
    const error = await errorReading(many);
    expect(error.code).toBe("MANIFEST_CORRUPT");
    expect(error.message).toMatch(/field experiments\.1500\.cycle/);
  });

  it("reports a missing config_hash and a bad timestamp by field", async () => {
    const { config_hash: _dropped, ...withoutHash } = validEntry;
    expect((await errorReading([withoutHash])).message).toMatch(
      /field experiments\.0\.config_hash/,
    );
    expect(
      (await errorReading([validEntry, { ...validEntry, cycle: 3, completed_at: "never" }]))
        .message,
    ).toMatch(/field experiments\.1\.completed_at/);
  });

  it("still rejects a repeated run", async () => {
    const error = await errorReading([validEntry, { ...validEntry }]);
    expect(error.code).toBe("MANIFEST_CORRUPT");
    expect(error.message).toMatch(/repeats config_hash 00000000000000ab cycle 2/);
  });
});
