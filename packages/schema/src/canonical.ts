import { createHash } from "node:crypto";
import { LlemError } from "./errors.js";

/**
 * Canonical JSON: the one byte sequence a value hashes as, on every machine and Node version.
 *
 * - Object keys sorted by UTF-16 code unit order (what `Array.prototype.sort` does); no whitespace.
 * - Numbers as ECMAScript's shortest round-trip form (`0.1`, `1e+21`, `-0` becomes `0`), so `1` and
 *   `1.0` are the same number — JSON cannot tell them apart either.
 * - Strings escaped exactly as `JSON.stringify` does; non-ASCII is kept and hashed as UTF-8.
 * - `NaN`, `Infinity`, `-Infinity`, `bigint`, functions, symbols and `undefined` inside arrays are
 *   rejected with `CANONICAL_JSON_INVALID`: a config that cannot round-trip through JSON has no
 *   stable identity. Object properties whose value is `undefined` are omitted, as in JSON.
 */
export function canonicalJson(value: unknown): string {
  return serialize(value, "$");
}

function serialize(value: unknown, path: string): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) {
        throw new LlemError(
          "CANONICAL_JSON_INVALID",
          `${path}: ${String(value)} has no JSON form; expected a finite number`,
          { details: { path } },
        );
      }
      return JSON.stringify(value);
    case "object":
      if (Array.isArray(value)) {
        return `[${value.map((item, index) => {
          if (item === undefined) {
            throw new LlemError("CANONICAL_JSON_INVALID", `${path}[${index}]: undefined in array`, {
              details: { path: `${path}[${index}]` },
            });
          }
          return serialize(item, `${path}[${index}]`);
        })}]`;
      }
      return serializeObject(value as Record<string, unknown>, path);
    default:
      throw new LlemError("CANONICAL_JSON_INVALID", `${path}: a ${typeof value} has no JSON form`, {
        details: { path },
      });
  }
}

function serializeObject(object: Record<string, unknown>, path: string): string {
  const prototype = Object.getPrototypeOf(object);
  if (prototype !== Object.prototype && prototype !== null) {
    throw new LlemError(
      "CANONICAL_JSON_INVALID",
      `${path}: only plain objects have a canonical form (got ${object.constructor?.name ?? "object"})`,
      { details: { path } },
    );
  }
  const parts: string[] = [];
  for (const key of Object.keys(object).sort()) {
    const item = object[key];
    if (item === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${serialize(item, `${path}.${key}`)}`);
  }
  return `{${parts.join(",")}}`;
}

/**
 * The same bytes as `canonicalJson`, several times faster, for values that are plain JSON data
 * already — what a zod model returns for a validated config: finite numbers, strings, booleans,
 * null, arrays and plain objects, `undefined` only as a property to omit. It is the native
 * JSON.stringify over a key-sorted copy, so it checks nothing: anything else must go through
 * `canonicalJson`. A large study hashes tens of thousands of configs through here.
 */
export function canonicalJsonOfData(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(sortKeys);
  const source = value as Record<string, unknown>;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(source).sort()) {
    const item = source[key];
    if (item !== undefined) sorted[key] = sortKeys(item);
  }
  return sorted;
}

/** Full lowercase hex SHA-256 of a string (as UTF-8) or of raw bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}
