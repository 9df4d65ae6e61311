import { readFile } from "node:fs/promises";
import { LlemError } from "@llem/schema";
import { LineCounter, parseDocument } from "yaml";

export interface ReadYaml {
  text: string;
  bytes: Uint8Array;
  value: unknown;
}

/** Reads a file; a missing file is CONFIG_NOT_FOUND naming `what` (e.g. "study file"). */
export async function readConfigFile(file: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new LlemError("CONFIG_NOT_FOUND", `${what} not found: ${file}`, {
        cause: error,
        details: { file },
      });
    }
    if (code === "EISDIR") {
      throw new LlemError(
        "CONFIG_NOT_FOUND",
        `${what} ${file} is a directory, expected a YAML file`,
        {
          details: { file },
        },
      );
    }
    throw new LlemError(
      "CONFIG_NOT_FOUND",
      `cannot read ${what} ${file}: ${(error as Error).message}`,
      {
        cause: error,
        details: { file },
      },
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
  return document.toJS({ maxAliasCount: 10_000 });
}

export async function readYamlFile(file: string, what: string): Promise<ReadYaml> {
  const bytes = await readConfigFile(file, what);
  const text = Buffer.from(bytes).toString("utf8");
  return { text, bytes, value: parseYaml(text, file) };
}
