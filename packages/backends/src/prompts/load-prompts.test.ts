import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { LlemError } from "@llem/schema";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { BUILTIN_PROMPT_SETS } from "./builtin-sets.js";
import { loadPrompts } from "./load-prompts.js";

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
