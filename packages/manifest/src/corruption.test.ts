import { copyFile, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LlemError } from "@llem/schema";
import { describe, expect, it } from "vitest";
import { makeRuns, studyFields, testDir } from "../test/helpers.js";
import {
  JOURNAL_FILE_NAME,
  MANIFEST_BACKUP_FILE_NAME,
  MANIFEST_FILE_NAME,
  ManifestStore,
  readManifest,
} from "./index.js";

/** A study with two transitions recorded, closed; returns its directory. */
async function goodStudy(): Promise<string> {
  const dir = await testDir();
  const runs = makeRuns(3);
  const store = await ManifestStore.create(dir, { ...studyFields, runs });
  await store.markRunning(runs[0]!.configHash, 1);
  await store.markCompleted(runs[0]!.configHash, 1, "r.json");
  await store.close();
  return dir;
}

async function errorOf(promise: Promise<unknown>): Promise<LlemError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(LlemError.isInstance(error), `expected an LlemError, got ${String(error)}`).toBe(true);
  return error as LlemError;
}

const damages: [string, (text: string) => string, RegExp][] = [
  ["not JSON", () => "this is not json {", /not valid JSON/],
  ["truncated", (text) => text.slice(0, Math.floor(text.length / 2)), /not valid JSON.*truncated/],
  ["empty", () => "", /the file is empty/],
  [
    "wrong schema (a status the schema does not know)",
    (text) => text.replace('"status": "completed"', '"status": "done"'),
    /field experiments\.0\.status/,
  ],
  [
    "wrong schema (study_name missing)",
    (text) => {
      const value = JSON.parse(text) as Record<string, unknown>;
      delete value.study_name;
      return JSON.stringify(value, null, 2);
    },
    /field study_name/,
  ],
  [
    "wrong schema version",
    (text) => text.replace('"schema_version": "2.0"', '"schema_version": "1.0"'),
    /schema_version: expected "2\.0"/,
  ],
];

describe("a damaged manifest", () => {
  it.each(damages)(
    "that is %s gives MANIFEST_CORRUPT and is left untouched",
    async (_label, damage, problem) => {
      const dir = await goodStudy();
      const path = join(dir, MANIFEST_FILE_NAME);
      const damaged = damage(await readFile(path, "utf8"));
      await writeFile(path, damaged);
      const backupBefore = await readFile(join(dir, MANIFEST_BACKUP_FILE_NAME), "utf8");
      const mtimeBefore = (await stat(path)).mtimeMs;

      for (const attempt of [() => ManifestStore.open(dir), () => readManifest(dir)]) {
        const error = await errorOf(attempt());
        expect(error.code).toBe("MANIFEST_CORRUPT");
        expect(error.message).toContain(path);
        expect(error.message).toMatch(problem);
        expect(error.message).toContain(`cp ${join(dir, MANIFEST_BACKUP_FILE_NAME)} ${path}`);
        expect(error.stack === undefined || !error.message.includes("    at ")).toBe(true);
      }
      expect(await readFile(path, "utf8")).toBe(damaged);
      expect((await stat(path)).mtimeMs).toBe(mtimeBefore);
      expect(await readFile(join(dir, MANIFEST_BACKUP_FILE_NAME), "utf8")).toBe(backupBefore);
      // The lock was released: after restoring the backup the study opens, and the journal
      // replays what the backup lacks.
      await copyFile(join(dir, MANIFEST_BACKUP_FILE_NAME), path);
      const store = await ManifestStore.open(dir);
      expect(store.counts.completed).toBe(1);
      await store.close();
    },
  );

  it("that is missing gives MANIFEST_NOT_FOUND naming the file", async () => {
    const dir = await testDir();
    for (const attempt of [() => ManifestStore.open(dir), () => readManifest(dir)]) {
      const error = await errorOf(attempt());
      expect(error.code).toBe("MANIFEST_NOT_FOUND");
      expect(error.message).toContain(join(dir, MANIFEST_FILE_NAME));
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it("with a journal that does not belong to it gives MANIFEST_CORRUPT naming the journal", async () => {
    const dir = await goodStudy();
    const journalPath = join(dir, JOURNAL_FILE_NAME);
    const header = (await readFile(journalPath, "utf8")).split("\n")[0];
    const alien = JSON.stringify({
      rev: 99,
      at: new Date().toISOString(),
      op: "completed",
      config_hash: "unknown",
      cycle: 1,
      result_file: "x",
    });
    const baseRevision = JSON.parse(header!).base_revision as number;
    const text = `${header}\n${alien.replace('"rev":99', `"rev":${baseRevision + 1}`)}\n`;
    await writeFile(journalPath, text);
    // The manifest already holds that revision, so the record is not needed: make it needed.
    const manifestPath = join(dir, MANIFEST_FILE_NAME);
    const manifest = JSON.parse(await readFile(manifestPath, "utf8")) as { revision: number };
    manifest.revision = baseRevision;
    await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
    for (const attempt of [() => ManifestStore.open(dir), () => readManifest(dir)]) {
      const error = await errorOf(attempt());
      expect(error.code).toBe("MANIFEST_CORRUPT");
      expect(error.message).toContain(journalPath);
      expect(error.message).toContain("unknown");
    }
    expect(await readFile(journalPath, "utf8")).toBe(text);
  });

  it("written by the seed's Python tool (no extensions) opens and gains a journal", async () => {
    const dir = await testDir();
    const seed = {
      schema_version: "2.0",
      study_name: "batch-size-sweep-2026-02",
      study_yaml_hash: "abc123def456",
      study_yaml_path: "study.yaml",
      llenergymeasure_version: "2.0.0",
      started_at: "2026-02-19T14:30:00Z",
      completed_at: null,
      experiments: [
        {
          config_hash: "def456",
          config_summary: "pytorch / batch=1 / bf16",
          cycle: 1,
          status: "completed",
          result_file: "llama.json",
          started_at: "2026-02-19T14:30:00Z",
          completed_at: "2026-02-19T14:32:14Z",
        },
        {
          config_hash: "ghi789",
          config_summary: "pytorch / batch=4 / bf16",
          cycle: 1,
          status: "pending",
          result_file: null,
          started_at: null,
          completed_at: null,
        },
      ],
    };
    await writeFile(join(dir, MANIFEST_FILE_NAME), JSON.stringify(seed, null, 2));
    expect((await readManifest(dir)).experiments).toHaveLength(2);
    const store = await ManifestStore.open(dir);
    expect(store.remaining().map((e) => e.config_hash)).toEqual(["ghi789"]);
    await store.markRunning("ghi789", 1);
    await store.markCompleted("ghi789", 1, "b.json");
    await store.close();
    const after = await readManifest(dir);
    expect(after.status).toBe("completed");
    expect(after.experiments[0]).toMatchObject(seed.experiments[0]!);
    await rm(join(dir, JOURNAL_FILE_NAME));
    expect(await readManifest(dir)).toEqual(after);
  });
});
