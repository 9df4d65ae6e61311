import { canonicalJsonOfData, sha256Hex } from "./canonical.js";
import { type ExperimentConfig, withEngineSection } from "./experiment-config.js";
import { parseExperimentConfig } from "./parse.js";

/**
 * The identity of an experiment: first 16 hex of SHA-256 over the canonical JSON of the validated
 * config with every default filled in. Written-out defaults, omitted defaults and key order do not
 * change it; any changed value does.
 *
 * Takes a config that `parseExperimentConfig` returned; use `configHashOf` for raw input.
 */
export function configHash(config: ExperimentConfig): string {
  return configHashOfCanonical(canonicalConfigJson(config));
}

/**
 * The canonical JSON a config hashes as (engine section filled in). A validated config is plain
 * data, so the fast serialiser gives exactly `canonicalJson`'s bytes (hashes.test.ts checks it).
 */
export function canonicalConfigJson(config: ExperimentConfig): string {
  return canonicalJsonOfData(withEngineSection(config));
}

/** The config hash of a config's canonical JSON (for callers that keep the text, as expansion does). */
export function configHashOfCanonical(canonical: string): string {
  return sha256Hex(canonical).slice(0, 16);
}

/** Validates raw input (throwing `CONFIG_INVALID`), then hashes it as `configHash` does. */
export function configHashOf(input: unknown): string {
  return configHash(parseExperimentConfig(input));
}

/** SHA-256 (64 hex) of the study file's bytes, exactly as read: any edit changes it. */
export function studyYamlHash(bytes: string | Uint8Array): string {
  return sha256Hex(bytes);
}

/**
 * Identity of a study's design: first 16 hex of SHA-256 over the canonical JSON of its unique
 * validated configs in declared order. Execution settings (cycles, ordering, gaps) are not part of
 * it, so a study topped up with more cycles keeps its design hash.
 */
export function studyDesignHash(configs: ReadonlyArray<ExperimentConfig>): string {
  return sha256Hex(`[${configs.map(canonicalConfigJson).join(",")}]`).slice(0, 16);
}
