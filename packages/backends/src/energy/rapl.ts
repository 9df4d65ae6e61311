import { closeSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import { LlemError } from "@llem/schema";
import { counterDelta, findGaps, totalEnergy, wrapIsAmbiguous } from "./counter.js";
import { type CpuTemperatureReader, cpuTemperatures } from "./cpu-temperature.js";
import { monotonicNow, timerScheduler } from "./scheduler.js";
import type {
  DeviceEnergy,
  DeviceTemperature,
  EnergyMeasurement,
  EnergySampler,
  PowerSample,
  Scheduler,
} from "./types.js";

export const DEFAULT_POWERCAP_ROOT = "/sys/class/powercap";

/**
 * A package draws a few hundred watts at most; 1 kW per zone is a generous ceiling for deciding
 * whether two counter reads are too far apart to rule out an unseen second wraparound.
 */
const MAX_PLAUSIBLE_ZONE_WATTS = 1000;

export interface RaplZone {
  /** "package-0", "dram-0" … */
  device: string;
  kind: "cpu_package" | "dram";
  /** Directory holding energy_uj. */
  dir: string;
  /** Counter range in µJ; null if the file is missing (a wrap then makes the figure unknown). */
  maxRangeUj: number | null;
}

export type RaplDiscovery =
  | { available: true; zones: RaplZone[]; detail: string }
  | { available: false; reason: string };

function readTrimmed(path: string): string {
  return readFileSync(path, "utf8").trim();
}

/** One buffer for every counter read: the sampling loop should not allocate per read. */
const counterBuffer = Buffer.alloc(32);

/**
 * Reads a counter file with open + read + close (readFileSync adds an fstat and a buffer per
 * call; this runs 10 times a second per zone inside the measurement window).
 */
function readMicrojoules(path: string): number {
  const fd = openSync(path, "r");
  let length: number;
  try {
    length = readSync(fd, counterBuffer, 0, counterBuffer.length, 0);
  } finally {
    closeSync(fd);
  }
  const text = counterBuffer.toString("latin1", 0, length).trim();
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new Error(`${path}: expected a non-negative integer of microjoules, got "${text}"`);
  }
  return value;
}

function errorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error
    ? String((error as { code: unknown }).code)
    : undefined;
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

const byIndex = (a: string, b: string): number =>
  Number(a.split(":").pop()) - Number(b.split(":").pop());

/**
 * Finds the RAPL package and DRAM zones under a powercap root. Only `intel-rapl:N` packages and
 * their `dram` subzones are used: `core`/`uncore` are parts of the package, `psys` (platform)
 * contains the package, and `intel-rapl-mmio` repeats the package through another interface —
 * adding any of them would count the same joules twice.
 */
export function discoverRapl(root: string = DEFAULT_POWERCAP_ROOT): RaplDiscovery {
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch (error) {
    return {
      available: false,
      reason: `no powercap tree at ${root} (${errorCode(error) ?? "unreadable"}): not Linux, the intel_rapl driver is not loaded, or a VM/container hides it`,
    };
  }
  const packages = entries.filter((name) => /^intel-rapl:\d+$/.test(name)).sort(byIndex);
  if (packages.length === 0) {
    return {
      available: false,
      reason: `no RAPL zones (intel-rapl:N) under ${root}: the CPU or the hypervisor does not expose RAPL`,
    };
  }

  const zones: RaplZone[] = [];
  const skipped: string[] = [];
  const problems: string[] = [];
  const addZone = (dir: string, device: string, kind: RaplZone["kind"]): void => {
    try {
      readMicrojoules(join(dir, "energy_uj"));
    } catch (error) {
      const code = errorCode(error);
      problems.push(
        code === "EACCES" || code === "EPERM"
          ? `${join(dir, "energy_uj")} is not readable by this user (since Linux 5.10 energy_uj is root-only, CVE-2020-8694); run as root or grant read access, e.g. chmod o+r`
          : `${join(dir, "energy_uj")}: ${error instanceof Error ? error.message : String(error)}`,
      );
      return;
    }
    let maxRangeUj: number | null = null;
    try {
      maxRangeUj = readMicrojoules(join(dir, "max_energy_range_uj"));
    } catch {
      maxRangeUj = null;
    }
    zones.push({ device, kind, dir, maxRangeUj });
  };

  for (const pkg of packages) {
    const dir = join(root, pkg);
    let name: string;
    try {
      name = readTrimmed(join(dir, "name"));
    } catch {
      problems.push(`${join(dir, "name")} is missing or unreadable`);
      continue;
    }
    const packageMatch = /^package-(\d+)$/.exec(name);
    if (!packageMatch) {
      skipped.push(`${pkg} (${name})`);
      continue;
    }
    addZone(dir, name, "cpu_package");
    for (const sub of listDir(dir)
      .filter((entry) => entry.startsWith(`${pkg}:`))
      .sort(byIndex)) {
      const subDir = join(dir, sub);
      let subName = "";
      try {
        subName = readTrimmed(join(subDir, "name"));
      } catch {
        continue;
      }
      if (subName === "dram") addZone(subDir, `dram-${packageMatch[1]}`, "dram");
    }
  }

  if (zones.length === 0) {
    return {
      available: false,
      reason:
        problems.length > 0
          ? problems.join("; ")
          : `no RAPL package zone under ${root} (found only: ${skipped.join(", ") || "nothing"})`,
    };
  }
  const parts = [`zones ${zones.map((zone) => zone.device).join(", ")} under ${root}`];
  if (skipped.length > 0) parts.push(`not counted: ${skipped.join(", ")}`);
  if (problems.length > 0) parts.push(`unusable: ${problems.join("; ")}`);
  return { available: true, zones, detail: parts.join("; ") };
}

export interface RaplSamplerOptions {
  /** CPU package temperature, read at the window's edges for the thermal-drift warning. */
  cpuTemperature?: CpuTemperatureReader | null;
  root?: string;
  sampleIntervalMs: number;
  now?: () => number;
  scheduler?: Scheduler;
}

interface ZoneState {
  zone: RaplZone;
  lastUj: number | null;
  lastMs: number;
  energyUj: number;
  reads: number;
  failedReads: number;
  wraps: number;
  /** Set once the zone's energy can no longer be trusted; its energy becomes null. */
  invalid: string | null;
  /** (t_ms, J since the window start) after each read. */
  cumulative: [number, number][];
}

/** CPU package and DRAM energy from the powercap `energy_uj` counters. */
export class RaplSampler implements EnergySampler {
  readonly kind = "rapl" as const;
  readonly method = "measured" as const;
  private readonly root: string;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly scheduler: Scheduler;
  private states: ZoneState[] = [];
  private samples: PowerSample[] = [];
  private tickTimes: number[] = [];
  private startedAt = 0;
  private ticker: { stop(): Promise<void> } | undefined;
  private readonly cpuTemperature: CpuTemperatureReader | null;
  private startTemperature: number | null = null;

  constructor(options: RaplSamplerOptions) {
    this.cpuTemperature = options.cpuTemperature ?? null;
    this.root = options.root ?? DEFAULT_POWERCAP_ROOT;
    this.intervalMs = options.sampleIntervalMs;
    this.now = options.now ?? monotonicNow;
    this.scheduler = options.scheduler ?? timerScheduler;
  }

  async start(): Promise<void> {
    const discovery = discoverRapl(this.root);
    if (!discovery.available) {
      throw new LlemError("SAMPLER_UNAVAILABLE", `rapl sampler cannot start: ${discovery.reason}`);
    }
    this.states = discovery.zones.map((zone) => ({
      zone,
      lastUj: null,
      lastMs: 0,
      energyUj: 0,
      reads: 0,
      failedReads: 0,
      wraps: 0,
      invalid: null,
      cumulative: [[0, 0]],
    }));
    this.samples = [];
    this.tickTimes = [];
    this.startTemperature = this.cpuTemperature?.read() ?? null;
    this.startedAt = this.now();
    this.readAll(0, false);
    for (const state of this.states) {
      if (state.lastUj === null) state.invalid = "its first counter read failed";
    }
    this.ticker = this.scheduler(this.intervalMs, () => {
      this.readAll(this.now() - this.startedAt, true);
    });
  }

  async stop(): Promise<EnergyMeasurement> {
    await this.ticker?.stop();
    this.ticker = undefined;
    const endMs = this.now() - this.startedAt;
    this.readAll(endMs, false);
    return this.measurement(endMs, cpuTemperatures(this.cpuTemperature, this.startTemperature));
  }

  /** One read of every zone at `tMs`; a failed read is a missing sample, the next one spans it. */
  private readAll(tMs: number, recordTick: boolean): void {
    if (recordTick) this.tickTimes.push(tMs);
    for (const state of this.states) {
      if (state.invalid) continue;
      let value: number;
      try {
        value = readMicrojoules(join(state.zone.dir, "energy_uj"));
      } catch {
        state.failedReads += 1;
        continue;
      }
      state.reads += 1;
      if (state.lastUj !== null) {
        const step = counterDelta(state.lastUj, value, state.zone.maxRangeUj);
        if (step.delta === null) {
          state.invalid = `its counter went from ${state.lastUj} to ${value} µJ with no max_energy_range_uj to unwrap it`;
          continue;
        }
        const elapsed = tMs - state.lastMs;
        if (step.wrapped) state.wraps += 1;
        if (
          state.zone.maxRangeUj !== null &&
          wrapIsAmbiguous(elapsed, state.zone.maxRangeUj / 1e6, MAX_PLAUSIBLE_ZONE_WATTS)
        ) {
          state.invalid = `${(elapsed / 1000).toFixed(1)} s passed between two counter reads, long enough for an unseen wraparound`;
          continue;
        }
        state.energyUj += step.delta;
        state.cumulative.push([tMs, state.energyUj / 1e6]);
        if (elapsed > 0) {
          this.samples.push({
            t_ms: tMs,
            device: state.zone.device,
            power_w: step.delta / 1e6 / (elapsed / 1000),
          });
        }
      }
      state.lastUj = value;
      state.lastMs = tMs;
    }
  }

  private measurement(endMs: number, temperatures: DeviceTemperature[]): EnergyMeasurement {
    const warnings: string[] = [];
    const perDevice: DeviceEnergy[] = this.states.map((state) => {
      if (state.invalid) {
        warnings.push(`rapl: energy of ${state.zone.device} is unknown: ${state.invalid}`);
      } else if (state.failedReads > 0) {
        warnings.push(
          `rapl: ${state.failedReads} of ${state.reads + state.failedReads} reads of ${state.zone.device} failed; the counter spans the gaps, the power timeseries has holes`,
        );
      }
      if (!state.invalid && state.lastMs < endMs) {
        warnings.push(
          `rapl: the last read of ${state.zone.device} failed; its energy ends ${((endMs - state.lastMs) / 1000).toFixed(2)} s before the window`,
        );
      }
      const socket = state.zone.device.split("-").pop();
      return {
        device: state.zone.device,
        kind: state.zone.kind,
        energy_j: state.invalid ? null : state.energyUj / 1e6,
        source: "energy_counter",
        scope:
          state.zone.kind === "dram"
            ? `the DRAM of CPU socket ${socket} (every process's memory traffic)`
            : `CPU socket ${socket}, cores and uncore (every process on it, not only this experiment)`,
        cumulative: state.cumulative,
      };
    });
    const gaps = findGaps(this.tickTimes, this.intervalMs);
    if (gaps.count > 0) {
      warnings.push(
        `rapl: ${gaps.count} gap(s) in the sampling loop, the longest ${Math.round(gaps.longest_ms)} ms (interval ${this.intervalMs} ms); energy is unaffected, the timeseries is coarser`,
      );
    }
    return {
      sampler: "rapl",
      samplers: ["rapl"],
      method: "measured",
      energy_j: totalEnergy(perDevice),
      per_device: perDevice,
      duration_s: endMs / 1000,
      sample_interval_ms: this.intervalMs,
      sample_count: this.samples.length,
      samples: this.samples,
      estimate_inputs: null,
      warnings,
      temperatures,
    };
  }
}
