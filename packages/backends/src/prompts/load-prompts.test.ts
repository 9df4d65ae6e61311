import { execFileSync } from "node:child_process";
import { truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LlemError } from "@llem/schema";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { BUILTIN_PROMPT_SETS } from "./builtin-sets.js";
import {
  datasetPreflight,
  loadPrompts,
  MAX_DATASET_BYTES,
  MAX_PROMPT_LINE_BYTES,
  readJsonlPrompts,
} from "./load-prompts.js";

async function errorOf(promise: Promise<unknown>): Promise<LlemError> {
  try {
    await promise;
  } catch (error) {
    if (LlemError.isInstance(error)) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}

describe("built-in prompt sets", () => {
  it("have varied lengths", () => {
    const lengths = BUILTIN_PROMPT_SETS.mixed.map((prompt) => prompt.length);
    expect(Math.max(...lengths) / Math.min(...lengths)).toBeGreaterThan(10);
    expect(Math.min(...BUILTIN_PROMPT_SETS.long.map((prompt) => prompt.length))).toBeGreaterThan(
      250,
    );
  });

  it("selects n_prompts in order, or shuffled reproducibly by seed", async () => {
    const listed = await loadPrompts(
      { source: "builtin:short", n_prompts: 5, order: "as_listed" },
      1,
    );
    expect(listed.prompts).toEqual(BUILTIN_PROMPT_SETS.short.slice(0, 5));
    const shuffled = await loadPrompts(
      { source: "builtin:short", n_prompts: 32, order: "shuffled" },
      7,
    );
    const again = await loadPrompts(
      { source: "builtin:short", n_prompts: 32, order: "shuffled" },
      7,
    );
    const otherSeed = await loadPrompts(
      { source: "builtin:short", n_prompts: 32, order: "shuffled" },
      8,
    );
    expect(shuffled.prompts).toEqual(again.prompts);
    expect(shuffled.prompts).not.toEqual(otherSeed.prompts);
    expect(shuffled.prompts).not.toEqual([...BUILTIN_PROMPT_SETS.short]);
    expect([...shuffled.prompts].sort()).toEqual([...BUILTIN_PROMPT_SETS.short].sort());
  });

  it("cycles a small set and says so", async () => {
    const selection = await loadPrompts(
      { source: "builtin:long", n_prompts: 20, order: "as_listed" },
      0,
    );
    expect(selection.prompts).toHaveLength(20);
    expect(selection).toMatchObject({ repeated: true, available: BUILTIN_PROMPT_SETS.long.length });
  });

  it("rejects an unknown set with the list of sets", async () => {
    const error = await errorOf(
      loadPrompts({ source: "builtin:poems", n_prompts: 1, order: "as_listed" }, 0),
    );
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toContain("builtin:short, builtin:long, builtin:mixed");
  });
});

describe("JSONL prompt files", () => {
  it("reads one prompt per line, skipping blank lines, relative to baseDir", async () => {
    const dir = await tempDir();
    writeFileSync(join(dir, "p.jsonl"), '{"prompt": "one"}\n\n{"prompt": "two", "id": 2}\r\n');
    const selection = await loadPrompts(
      { source: "p.jsonl", n_prompts: 2, order: "as_listed" },
      0,
      dir,
    );
    expect(selection).toMatchObject({
      prompts: ["one", "two"],
      source: join(dir, "p.jsonl"),
      repeated: false,
    });
  });

  it.each([
    ['{"prompt": "ok"}\n{"prompt": "ok"}\n{"prompt": oops}\n', ":3: not valid JSON"],
    ['{"prompt": "ok"}\n["a list"]\n', ":2: expected a JSON object"],
    ['{"text": "wrong field"}\n', ':1: field "prompt" must be a string, got nothing'],
    ['{"prompt": 42}\n', ':1: field "prompt" must be a string, got number'],
    ['{"prompt": "ok"}\n{"prompt": "   "}\n', ':2: field "prompt" is empty'],
    ["\n\n", "holds no prompts"],
  ])("rejects %j naming the file and line", async (content, fragment) => {
    const dir = await tempDir();
    const file = join(dir, "bad.jsonl");
    writeFileSync(file, content);
    const error = await errorOf(loadPrompts({ source: file, n_prompts: 1, order: "as_listed" }, 0));
    expect(error.code).toBe("DATASET_INVALID");
    expect(error.message).toContain(file);
    expect(error.message).toContain(fragment);
  });

  it("reports a missing file as DATASET_INVALID", async () => {
    const dir = await tempDir();
    const error = await errorOf(
      loadPrompts({ source: join(dir, "none.jsonl"), n_prompts: 1, order: "as_listed" }, 0),
    );
    expect(error.code).toBe("DATASET_INVALID");
    expect(error.message).toContain("does not exist");
  });
});

describe("dataset files: regular files only, bounded", () => {
  it("a FIFO is refused at once, not waited on", { timeout: 30_000 }, async () => {
    const fifo = join(await tempDir(), "prompts.jsonl");
    execFileSync("mkfifo", [fifo]);
    const error = await errorOf(readJsonlPrompts(fifo));
    expect(error.code).toBe("DATASET_INVALID");
    expect(error.message).toMatch(/prompts\.jsonl is a FIFO \(named pipe\), not a regular file/);
    expect(datasetPreflight(fifo, "/")).toMatch(/is a FIFO/);
  });

  it("a file over 64 MiB is refused by its size, without reading it", async () => {
    const file = join(await tempDir(), "huge.jsonl");
    writeFileSync(file, "");
    truncateSync(file, MAX_DATASET_BYTES + 1); // sparse: no disk used
    const error = await errorOf(readJsonlPrompts(file));
    expect(error.message).toMatch(/huge\.jsonl is 64 MiB, over the 64 MiB limit for a dataset/);
  });

  it("a line over 1 MiB is refused with its line number", async () => {
    const file = join(await tempDir(), "long.jsonl");
    writeFileSync(file, `{"prompt": "ok"}\n{"prompt": "${"x".repeat(MAX_PROMPT_LINE_BYTES)}"}\n`);
    const error = await errorOf(readJsonlPrompts(file));
    expect(error.message).toMatch(/long\.jsonl:2: line is 1 MiB or more, over the 1 MiB limit/);
  });

  it("datasetPreflight says what a run would fail with, or null", async () => {
    const dir = await tempDir();
    writeFileSync(join(dir, "good.jsonl"), '{"prompt": "hello"}\n');
    writeFileSync(join(dir, "bad.jsonl"), '{"prompt": "hello"}\nnot json\n');
    expect(datasetPreflight("good.jsonl", dir)).toBeNull();
    expect(datasetPreflight("builtin:short", dir)).toBeNull();
    expect(datasetPreflight("bad.jsonl", dir)).toMatch(/bad\.jsonl:2: not valid JSON/);
    expect(datasetPreflight("missing.jsonl", dir)).toMatch(/missing\.jsonl does not exist/);
    expect(datasetPreflight("builtin:shrt", dir)).toMatch(
      /"builtin:shrt": unknown built-in prompt set; did you mean "builtin:short"\?/,
    );
  });
});
