import { resolve } from "node:path";
import { closestMatch, deriveSeed, LlemError, seededRandom, shuffleInPlace } from "@llem/schema";
import {
  formatBytes,
  RegularFileError,
  readRegularFile,
  readRegularFileSync,
} from "../files/regular-file.js";
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

/** The largest dataset file read (64 MiB) and the longest line in it (1 MiB, ~250k tokens). */
export const MAX_DATASET_BYTES = 64 << 20;
export const MAX_PROMPT_LINE_BYTES = 1 << 20;

function unreadableDataset(path: string, error: unknown): LlemError {
  const why =
    error instanceof RegularFileError
      ? error.reason
      : `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  const limit =
    error instanceof RegularFileError && error.problem === "too-large" ? " for a dataset" : "";
  return datasetError(
    `dataset file ${path} ${why}${limit} (task.dataset.source expects builtin:<set> or a JSONL file)`,
    { path },
    error,
  );
}

/**
 * Reads a JSONL file of `{"prompt": "…"}` objects, one per line (blank lines allowed): a regular
 * file of at most MAX_DATASET_BYTES, each line at most MAX_PROMPT_LINE_BYTES. Every problem names
 * the file (and the line number).
 */
export async function readJsonlPrompts(path: string): Promise<string[]> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(path, { maxBytes: MAX_DATASET_BYTES });
  } catch (error) {
    throw unreadableDataset(path, error);
  }
  return parseJsonlPrompts(bytes.toString("utf8"), path);
}

/** `readJsonlPrompts`, synchronously (for preflight). */
export function readJsonlPromptsSync(path: string): string[] {
  let bytes: Buffer;
  try {
    bytes = readRegularFileSync(path, { maxBytes: MAX_DATASET_BYTES });
  } catch (error) {
    throw unreadableDataset(path, error);
  }
  return parseJsonlPrompts(bytes.toString("utf8"), path);
}

/** The prompts of a JSONL text; every problem names `path` and the line. */
export function parseJsonlPrompts(text: string, path: string): string[] {
  const prompts: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    if (line.trim() === "") return;
    // Characters, a lower bound of the bytes: cheap, and exact enough for a limit this far out.
    if (line.length > MAX_PROMPT_LINE_BYTES) {
      throw datasetError(
        `${path}:${lineNumber}: line is ${formatBytes(line.length)} or more, over the ${formatBytes(MAX_PROMPT_LINE_BYTES)} limit for one prompt`,
        { path, line: lineNumber },
      );
    }
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

/** The built-in set a `builtin:<set>` source names; CONFIG_INVALID naming the sets otherwise. */
function builtinSet(source: string): readonly string[] {
  const name = source.slice(BUILTIN_PREFIX.length);
  if (!Object.hasOwn(BUILTIN_PROMPT_SETS, name)) {
    const sets = Object.keys(BUILTIN_PROMPT_SETS);
    const guess = closestMatch(name, sets);
    throw new LlemError(
      "CONFIG_INVALID",
      `task.dataset.source "${source}": unknown built-in prompt set${guess ? `; did you mean "builtin:${guess}"?` : ""} (expected one of ${sets
        .map((set) => `builtin:${set}`)
        .join(", ")} or a JSONL file path)`,
      { details: { field: "task.dataset.source", value: source } },
    );
  }
  return BUILTIN_PROMPT_SETS[name as BuiltinPromptSet];
}

/** Problems of one dataset source under one base dir (a study repeats few over many configs). */
const datasetProblems = new Map<string, string | null>();

/**
 * What would make a run fail on its dataset before it measures anything — an unknown built-in
 * set; a JSONL file that is missing, not a regular file, too large, or has a bad line — as the
 * sentence a run would fail with, or null. The file is read and parsed (once per source and
 * base dir), so `validate` refuses exactly what the run would.
 */
export function datasetPreflight(source: string, baseDir: string): string | null {
  const key = `${baseDir}\0${source}`;
  let problem = datasetProblems.get(key);
  if (problem === undefined) {
    problem = null;
    try {
      if (source.startsWith(BUILTIN_PREFIX)) builtinSet(source);
      else readJsonlPromptsSync(resolve(baseDir, source));
    } catch (error) {
      if (!LlemError.isInstance(error)) throw error;
      problem = error.message.replace(/^task\.dataset\.source /, "");
    }
    datasetProblems.set(key, problem);
  }
  return problem;
}

/** The prompt pool of a `dataset.source`, before ordering and selection. */
export async function promptPool(
  source: string,
  baseDir: string = process.cwd(),
): Promise<{ prompts: readonly string[]; source: string }> {
  if (source.startsWith(BUILTIN_PREFIX)) return { prompts: builtinSet(source), source };
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
