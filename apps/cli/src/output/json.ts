/**
 * JSON for machines in one key style: snake_case, as every file llem writes (manifest, results,
 * summary). Events and statuses are camelCase objects inside the libraries; what the CLI prints
 * with --json is converted here, recursively:
 *
 *   snakeKeys({ configHash: "ab", lockHolder: { pid: 1 } })  → { config_hash: "ab", lock_holder: { pid: 1 } }
 *   snakeKeys({ total_runs: 4, "node-llama-cpp": "3.22.1" })  → unchanged (already snake_case, or not a name)
 */

export function snakeCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

export function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[/^[a-z][A-Za-z0-9]*$/.test(key) ? snakeCase(key) : key] = snakeKeys(item);
  }
  return out;
}

/** One JSON line, snake_case keys. */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(snakeKeys(value))}\n`;
}
