import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";

/** Where an executable was found, or why it was not. */
export type BinaryLookup =
  | { found: true; path: string; source: string }
  | { found: false; reason: string };

export interface BinarySources {
  /** The config's `<engine>.binary`: a path or a command name. */
  configured: string | null;
  /** The environment variable that overrides the default (`LLEM_VLLM_BIN`). */
  envVar: string;
  /** The command name looked up on PATH when neither is set. */
  defaultName: string;
  /** Further places to look after PATH (llama-server: llem's own build cache). */
  fallbacks?: () => { path: string; source: string }[];
  env?: NodeJS.ProcessEnv;
  /** Relative configured paths resolve against this (the study file's directory). */
  baseDir?: string;
}

/**
 * Finds a server executable, in order: the config's `binary`, the engine's environment variable,
 * PATH, then the engine's fallbacks — and says which one it used, or everything it tried.
 * Cheap (a few stat calls): `llem doctor` reports it, and a run finds its binary the same way.
 */
export function findBinary(sources: BinarySources): BinaryLookup {
  const env = sources.env ?? process.env;
  if (sources.configured)
    return lookup(sources.configured, "the config's binary", env, sources.baseDir);
  const fromEnv = env[sources.envVar];
  if (fromEnv) return lookup(fromEnv, `$${sources.envVar}`, env, sources.baseDir);
  const onPath = searchPath(sources.defaultName, env);
  if (onPath) return { found: true, path: onPath, source: "PATH" };
  for (const fallback of sources.fallbacks?.() ?? []) {
    if (isExecutableFile(fallback.path)) return { found: true, ...fallback };
  }
  return {
    found: false,
    reason: `${sources.defaultName} not found on PATH (set ${sources.envVar} or the config's binary to its path)`,
  };
}

function lookup(
  name: string,
  source: string,
  env: NodeJS.ProcessEnv,
  baseDir: string | undefined,
): BinaryLookup {
  if (name.includes("/")) {
    const path = isAbsolute(name) ? name : resolve(baseDir ?? process.cwd(), name);
    return isExecutableFile(path)
      ? { found: true, path, source }
      : {
          found: false,
          reason: `${source} ${JSON.stringify(name)} is not an executable file (${path})`,
        };
  }
  const onPath = searchPath(name, env);
  return onPath
    ? { found: true, path: onPath, source: `${source} on PATH` }
    : { found: false, reason: `${source} ${JSON.stringify(name)} not found on PATH` };
}

/** The first executable file named `name` in PATH's directories. */
export function searchPath(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
