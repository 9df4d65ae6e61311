import { RegularFileError, readRegularFile } from "@llem/backends/files";
import { LlemError } from "@llem/schema";
import { LineCounter, parseDocument } from "yaml";

export interface ReadYaml {
  text: string;
  bytes: Uint8Array;
  value: unknown;
}

/**
 * The largest study (or base:) file llem reads: 1 MiB. Hand-written studies are a few KB (the
 * 56,832-run example is 1.5 KB); the limit keeps `llem validate /dev/zero`-like inputs from
 * taking unbounded memory.
 */
export const MAX_STUDY_FILE_BYTES = 1 << 20;

/** YAML aliases expanded at most (an "alias bomb" of nested anchors is refused, not expanded). */
export const MAX_YAML_ALIASES = 10_000;

/**
 * Reads a study file: a regular file of at most MAX_STUDY_FILE_BYTES (not a FIFO, a device or a
 * directory). A missing file is CONFIG_NOT_FOUND naming `what` (e.g. "study file"); one that is
 * not a regular file or too large is CONFIG_INVALID.
 */
export async function readConfigFile(file: string, what: string): Promise<Uint8Array> {
  try {
    return await readRegularFile(file, { maxBytes: MAX_STUDY_FILE_BYTES });
  } catch (error) {
    if (!(error instanceof RegularFileError)) throw error;
    if (error.problem === "missing") {
      throw new LlemError("CONFIG_NOT_FOUND", `${what} not found: ${file}`, {
        cause: error,
        details: { file },
      });
    }
    const expected =
      error.problem === "too-large"
        ? " for a study file; a study is a few KB of YAML"
        : error.problem === "not-regular"
          ? "; expected a YAML file"
          : "";
    throw new LlemError(
      error.problem === "unreadable" ? "CONFIG_NOT_FOUND" : "CONFIG_INVALID",
      `${what} ${error.message}${expected}`,
      { cause: error, details: { file } },
    );
  }
}

/** Parses YAML (JSON is YAML too); a syntax error is CONFIG_PARSE naming file:line:col. */
export function parseYaml(text: string, file: string): unknown {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, {
    prettyErrors: false,
    uniqueKeys: true,
    merge: true,
    lineCounter,
  });
  const error = document.errors[0];
  if (error) {
    const position = lineCounter.linePos(error.pos[0]);
    const where = `${file}:${position.line}:${position.col}`;
    const problem = error.message.split("\n")[0];
    throw new LlemError("CONFIG_PARSE", `${where}: invalid YAML: ${problem}`, {
      details: { file, line: position?.line, column: position?.col, yamlCode: error.code },
    });
  }
  try {
    return document.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (thrown) {
    // The yaml package refuses an alias bomb with a ReferenceError; it is bad input all the same.
    if (thrown instanceof ReferenceError && /alias/i.test(thrown.message)) {
      throw new LlemError(
        "CONFIG_PARSE",
        `${file}: invalid YAML: its aliases expand to more than ${MAX_YAML_ALIASES.toLocaleString("en-US")} nodes (nested anchors that multiply, an "alias bomb"); write the values out or use fewer aliases`,
        { cause: thrown, details: { file } },
      );
    }
    throw thrown;
  }
}

export async function readYamlFile(file: string, what: string): Promise<ReadYaml> {
  const bytes = await readConfigFile(file, what);
  const text = Buffer.from(bytes).toString("utf8");
  return { text, bytes, value: parseYaml(text, file) };
}
