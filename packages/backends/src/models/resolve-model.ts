import { resolve } from "node:path";
import { type GgufHeader, readGgufHeader } from "./gguf-reader.js";
import { ensureSyntheticModel, isSyntheticModel, llemCacheDir } from "./synthetic.js";

export interface ResolvedModel {
  /** task.model as given. */
  name: string;
  path: string;
  header: GgufHeader;
  synthetic: boolean;
}

/**
 * Turns `task.model` into a GGUF file on disk: a synthetic spec is generated into the cache (once),
 * a path is resolved against `baseDir`. Either way the header is read and checked, so a missing or
 * corrupt file fails here with MODEL_NOT_FOUND / MODEL_INVALID, before any engine starts.
 */
export function resolveModel(
  model: string,
  options: { cacheDir?: string; baseDir?: string } = {},
): ResolvedModel {
  if (isSyntheticModel(model)) {
    const { path } = ensureSyntheticModel(model, options.cacheDir ?? llemCacheDir());
    return { name: model, path, header: readGgufHeader(path), synthetic: true };
  }
  const path = resolve(options.baseDir ?? process.cwd(), model);
  return { name: model, path, header: readGgufHeader(path), synthetic: false };
}
