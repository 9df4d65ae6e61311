import { isPlainObject, RUN_STATUSES, RunLease, StudyManifest, Timestamp } from "@llem/schema";

/**
 * A hand-written check of manifest entries that accepts exactly what the zod `ManifestEntry`
 * model accepts. zod validates a 56,832-run manifest in ~230 ms and copies every entry (more
 * garbage to collect); this check takes a fraction of that and keeps the parsed objects. It only
 * answers yes or no: when it says no, the caller runs zod to name the first problem, so error
 * messages are zod's. `fast-validate.test.ts` checks it against zod on valid and invalid entries.
 *
 * Keep it in step with `ManifestEntry` in packages/schema/src/study-manifest.ts.
 */

const runStatuses: ReadonlySet<unknown> = new Set(RUN_STATUSES);

/** The pattern zod's `Timestamp` tests strings against (undefined if zod stops exposing it). */
const timestampPattern: RegExp | undefined = (() => {
  const pattern = (Timestamp as unknown as { _zod?: { def?: { pattern?: unknown } } })._zod?.def
    ?.pattern;
  return pattern instanceof RegExp && !pattern.global && !pattern.sticky ? pattern : undefined;
})();

function isTimestamp(value: unknown): boolean {
  if (typeof value !== "string") return false;
  return timestampPattern ? timestampPattern.test(value) : Timestamp.safeParse(value).success;
}

function isOptionalNullableString(value: unknown): boolean {
  return value === undefined || value === null || typeof value === "string";
}

function isOptionalNullableTimestamp(value: unknown): boolean {
  return value === undefined || value === null || isTimestamp(value);
}

/** True when zod's `ManifestEntry` would accept `entry` and return an equal object. */
export function isValidManifestEntry(entry: unknown): boolean {
  if (!isPlainObject(entry)) return false;
  // zod drops an own "__proto__" key from its output; let zod handle such (hostile) entries.
  if (Object.hasOwn(entry, "__proto__")) return false;
  const configHash = entry.config_hash;
  if (typeof configHash !== "string" || configHash.length < 1) return false;
  if (typeof entry.config_summary !== "string") return false;
  const cycle = entry.cycle;
  if (typeof cycle !== "number" || !Number.isSafeInteger(cycle) || cycle < 1) return false;
  if (!runStatuses.has(entry.status)) return false;
  if (!isOptionalNullableString(entry.result_file)) return false;
  if (!isOptionalNullableString(entry.error_type)) return false;
  if (!isOptionalNullableString(entry.error_message)) return false;
  if (!isOptionalNullableTimestamp(entry.started_at)) return false;
  if (!isOptionalNullableTimestamp(entry.completed_at)) return false;
  const attempts = entry.attempts;
  if (
    attempts !== undefined &&
    (typeof attempts !== "number" || !Number.isSafeInteger(attempts) || attempts < 0)
  ) {
    return false;
  }
  const lease = entry.lease;
  // Leases sit only on running entries (a handful), so zod's own check costs nothing here.
  if (lease !== undefined && lease !== null) {
    if (!isPlainObject(lease) || Object.hasOwn(lease, "__proto__")) return false;
    if (!RunLease.safeParse(lease).success) return false;
  }
  return true;
}

/**
 * Validates a parsed manifest: the study-level fields with zod (few, and zod fills defaults),
 * the entries with {@link isValidManifestEntry}. Returns undefined when anything fails, and the
 * caller then runs the full zod parse for the error message.
 */
export function fastParseManifest(value: unknown): StudyManifest | undefined {
  if (!isPlainObject(value) || Object.hasOwn(value, "__proto__")) return undefined;
  const experiments = value.experiments;
  if (!Array.isArray(experiments)) return undefined;
  for (let index = 0; index < experiments.length; index++) {
    if (!isValidManifestEntry(experiments[index])) return undefined;
  }
  const header = StudyManifest.safeParse({ ...value, experiments: [] });
  if (!header.success) return undefined;
  return { ...header.data, experiments: experiments as StudyManifest["experiments"] };
}
