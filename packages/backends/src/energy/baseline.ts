import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { writeFileAtomic } from "@llem/manifest";
import { LlemError } from "@llem/schema";
import { abortedError } from "../aborted.js";
import { createSampler, type SamplerOptions } from "./select.js";
import type { EnergyMethod, EnergySampler, EnergySamplerConfig, SamplerKind } from "./types.js";

/** Power with nothing running, measured over `duration_s` by the experiment's samplers. */
export interface IdleBaseline {
  /** Mean idle power of every device together. */
  power_w: number;
  duration_s: number;
  method: EnergyMethod;
  sampler: SamplerKind | "combined";
  sample_count: number;
  /** ISO-8601 UTC. */
  measured_at: string;
  warnings: string[];
  /**
   * What the baseline is of: samplers and devices (createSampler's `key`, e.g.
   * `nvml:GPU-…,GPU-…+rapl:package-0`). A baseline serves only experiments measuring the same
   * devices: one per GPU set. Absent in baselines cached before it existed (then the sampler).
   */
  key?: string;
  /** Idle power per device, for each component's adjusted energy. */
  components?: { device: string; power_w: number }[];
}

/** The cache key of a baseline. */
export function baselineKey(baseline: Pick<IdleBaseline, "key" | "sampler">): string {
  return baseline.key ?? baseline.sampler;
}

export interface MeasureIdleBaselineOptions {
  /** Either a ready sampler factory, or the energy config (and sampler options) to build one. */
  sampler?: () => Promise<EnergySampler>;
  energyConfig?: EnergySamplerConfig;
  samplerOptions?: SamplerOptions;
  /** What the sampler measures (createSampler's `key`); stored with the baseline. */
  key?: string;
  duration_s: number;
  signal?: AbortSignal;
}

/**
 * Samples for `duration_s` with nothing else running and returns the mean power. Returns null
 * when the sampler measures nothing (sampler none). Abortable: the sampler is stopped and
 * EXPERIMENT_ABORTED is thrown.
 *
 * For the estimate sampler the baseline is ≈ 0 W by construction (an idle process uses no CPU
 * time); it is still measured so that every result carries the same fields.
 */
export async function measureIdleBaseline(
  options: MeasureIdleBaselineOptions,
): Promise<IdleBaseline | null> {
  let sampler: EnergySampler;
  let key = options.key;
  if (options.sampler) {
    sampler = await options.sampler();
  } else if (options.energyConfig) {
    const chosen = await createSampler(options.energyConfig, options.samplerOptions);
    sampler = chosen.sampler;
    key ??= chosen.key;
  } else {
    throw new LlemError(
      "INTERNAL",
      "measureIdleBaseline needs a sampler factory or an energyConfig",
    );
  }
  if (sampler.method === "none") return null;
  const abortError = (): LlemError => abortedError(options.signal, "the idle baseline");
  if (options.signal?.aborted) throw abortError();

  const measuredAt = new Date().toISOString();
  await sampler.start();
  try {
    await sleep(options.duration_s * 1000, undefined, { signal: options.signal });
  } catch (error) {
    await sampler.stop().catch(() => undefined);
    if (options.signal?.aborted) throw abortError();
    throw error;
  }
  const measurement = await sampler.stop();
  if (measurement.energy_j === null || !(measurement.duration_s > 0)) return null;
  const durationS = measurement.duration_s;
  return {
    power_w: measurement.energy_j / durationS,
    duration_s: durationS,
    method: measurement.method,
    sampler: measurement.sampler,
    sample_count: measurement.sample_count,
    measured_at: measuredAt,
    warnings: measurement.warnings,
    ...(key === undefined ? {} : { key }),
    components: measurement.per_device.flatMap((device) =>
      device.energy_j === null
        ? []
        : [{ device: device.device, power_w: device.energy_j / durationS }],
    ),
  };
}

interface CacheFile {
  schema_version: 1;
  /** By baseline key (`baselineKey`). */
  entries: Record<string, IdleBaseline>;
}

export interface BaselineCacheOptions {
  /** JSON file shared by every process of a study; in memory only without it. */
  filePath?: string;
  /** How long a baseline stays valid; 3600 s by default. */
  ttlSeconds?: number;
  /** Wall clock in ms since the epoch (baselines carry wall-clock timestamps). */
  now?: () => number;
}

/**
 * Idle baselines keyed by what they measured (samplers and devices), reused until they are `ttlSeconds` old. With a file,
 * experiments running in separate child processes share one baseline: the file is re-read on
 * every lookup and replaced atomically on every store. A missing or unreadable file is an empty
 * cache (a cache is never a reason to fail an experiment).
 */
export class BaselineCache {
  private readonly entries = new Map<string, IdleBaseline>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly options: BaselineCacheOptions = {}) {
    this.ttlMs = (options.ttlSeconds ?? 3600) * 1000;
    this.now = options.now ?? Date.now;
  }

  /** A baseline for `key` younger than the TTL, or null. */
  async get(key: string): Promise<IdleBaseline | null> {
    await this.load();
    const entry = this.entries.get(key);
    if (!entry) return null;
    const age = this.now() - Date.parse(entry.measured_at);
    return Number.isFinite(age) && age >= 0 && age <= this.ttlMs ? entry : null;
  }

  async set(baseline: IdleBaseline): Promise<void> {
    await this.load();
    this.entries.set(baselineKey(baseline), baseline);
    if (this.options.filePath) {
      const file: CacheFile = { schema_version: 1, entries: Object.fromEntries(this.entries) };
      await writeFileAtomic(this.options.filePath, `${JSON.stringify(file, null, 2)}\n`);
    }
  }

  /** The cached baseline for `key`, or a fresh one from `measure` (then stored). */
  async getOrMeasure(
    key: string,
    measure: () => Promise<IdleBaseline | null>,
  ): Promise<{ baseline: IdleBaseline; source: "cached" | "fresh" } | null> {
    const cached = await this.get(key);
    if (cached) return { baseline: cached, source: "cached" };
    const fresh = await measure();
    if (!fresh) return null;
    await this.set(fresh);
    return { baseline: fresh, source: "fresh" };
  }

  private async load(): Promise<void> {
    if (!this.options.filePath) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(this.options.filePath, "utf8"));
    } catch {
      return;
    }
    const entries = (parsed as Partial<CacheFile> | null)?.entries;
    if (!entries || typeof entries !== "object") return;
    for (const [key, entry] of Object.entries(entries)) {
      if (isBaseline(entry)) this.entries.set(key, entry);
    }
  }
}

function isBaseline(value: unknown): value is IdleBaseline {
  const v = value as Partial<IdleBaseline> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.power_w === "number" &&
    Number.isFinite(v.power_w) &&
    typeof v.duration_s === "number" &&
    typeof v.measured_at === "string" &&
    typeof v.sampler === "string" &&
    typeof v.method === "string" &&
    typeof v.sample_count === "number"
  );
}
