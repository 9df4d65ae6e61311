import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { deriveSeed, LlemError, seededRandom, shuffleInPlace } from "@llem/schema";
import { BUILTIN_PROMPT_SETS, type BuiltinPromptSet } from "./builtin-sets.js";

export const BUILTIN_PREFIX = "builtin:";

export interface PromptSelection {
  /** Exactly the requested number of prompts, in the order they will run. */
  prompts: string[];
  /** Where they came from: `builtin:<set>` or the resolved file path. */
  source: string;
  /** Distinct prompts available before repetition. */
  available: number;
  /** True when the source had fewer prompts than requested and the list was cycled. */
  repeated: boolean;
}

export interface DatasetSelection {
  source: string;
  n_prompts: number;
  order: "as_listed" | "shuffled";
}

function datasetError(
  message: string,
  details: Record<string, unknown>,
  cause?: unknown,
): LlemError {
  return new LlemError("DATASET_INVALID", message, {
    details: { field: "task.dataset.source", ...details },
    cause,
  });
}

/**
 * Reads a JSONL file of `{"prompt": "…"}` objects, one per line (blank lines allowed). Every
 * problem names the file and the line number.
 */
export async function readJsonlPrompts(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? (error as Error).message})`;
    throw datasetError(
      `dataset file ${path} ${why} (task.dataset.source expects builtin:<set> or a JSONL file)`,
      { path },
      error,
    );
  }
  const prompts: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    if (line.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      throw datasetError(
        `${path}:${lineNumber}: not valid JSON (${(error as Error).message}); expected {"prompt": "…"}`,
        { path, line: lineNumber },
        error,
      );
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw datasetError(
        `${path}:${lineNumber}: expected a JSON object {"prompt": "…"}, got ${Array.isArray(parsed) ? "an array" : typeof parsed}`,
        { path, line: lineNumber },
      );
    }
    const prompt = (parsed as Record<string, unknown>).prompt;
    if (typeof prompt !== "string") {
      throw datasetError(
        `${path}:${lineNumber}: field "prompt" must be a string, got ${prompt === undefined ? "nothing" : typeof prompt}`,
        { path, line: lineNumber },
      );
    }
    if (prompt.trim() === "") {
      throw datasetError(`${path}:${lineNumber}: field "prompt" is empty`, {
        path,
        line: lineNumber,
      });
    }
    prompts.push(prompt);
  });
  if (prompts.length === 0)
    throw datasetError(
      `dataset file ${path} holds no prompts (expected one {"prompt": "…"} per line)`,
      { path },
    );
  return prompts;
}

/** The prompt pool of a `dataset.source`, before ordering and selection. */
export async function promptPool(
  source: string,
  baseDir: string = process.cwd(),
): Promise<{ prompts: readonly string[]; source: string }> {
  if (source.startsWith(BUILTIN_PREFIX)) {
    const name = source.slice(BUILTIN_PREFIX.length);
    if (!Object.hasOwn(BUILTIN_PROMPT_SETS, name)) {
      throw new LlemError(
        "CONFIG_INVALID",
        `task.dataset.source "${source}": unknown built-in prompt set; expected one of ${Object.keys(
          BUILTIN_PROMPT_SETS,
        )
          .map((set) => `builtin:${set}`)
          .join(", ")} or a JSONL file path`,
        { details: { field: "task.dataset.source", value: source } },
      );
    }
    return { prompts: BUILTIN_PROMPT_SETS[name as BuiltinPromptSet], source };
  }
  const path = resolve(baseDir, source);
  return { prompts: await readJsonlPrompts(path), source: path };
}

/**
 * Selects `n_prompts` prompts: the pool in file order or shuffled with `seed`, cycled when the
 * pool is smaller than the request (flagged as `repeated`, which the result reports as a warning).
 */
export async function loadPrompts(
  dataset: DatasetSelection,
  seed: number,
  baseDir?: string,
): Promise<PromptSelection> {
  const pool = await promptPool(dataset.source, baseDir);
  const ordered =
    dataset.order === "shuffled"
      ? shuffleInPlace([...pool.prompts], seededRandom(deriveSeed(seed, "shuffle")))
      : [...pool.prompts];
  const prompts = Array.from(
    { length: dataset.n_prompts },
    (_, index) => ordered[index % ordered.length] as string,
  );
  return {
    prompts,
    source: pool.source,
    available: ordered.length,
    repeated: dataset.n_prompts > ordered.length,
  };
}
