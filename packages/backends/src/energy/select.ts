import { LlemError } from "@llem/schema";
import { DEFAULT_HWMON_ROOT, findCpuTemperature } from "./cpu-temperature.js";
import { type CpuTimeSource, EstimateSampler } from "./estimate.js";
import { NoneSampler } from "./none.js";
import { NvmlSampler } from "./nvml.js";
import type { NvmlBackend, NvmlBackendFactory } from "./nvml-backend.js";
import { DEFAULT_POWERCAP_ROOT, discoverRapl, RaplSampler } from "./rapl.js";
import type { EnergySampler, EnergySamplerConfig, SamplerKind, Scheduler } from "./types.js";

export interface SamplerOptions {
  /** Root of the powercap tree; `/sys/class/powercap` by default. */
  powercapRoot?: string;
  /** Root of the hwmon tree for the CPU temperature (rapl, estimate); `/sys/class/hwmon` by default. */
  hwmonRoot?: string;
  /** NVML access; by default libnvidia-ml through koffi. Tests inject a recorded backend. */
  nvml?: NvmlBackend | NvmlBackendFactory;
  /** NVML device indices to measure; all by default. */
  gpuDevices?: number[];
  /** Monotonic clock in ms. */
  now?: () => number;
  scheduler?: Scheduler;
  /** CPU time source of the estimate sampler (process.cpuUsage by default). */
  cpuTimeUs?: CpuTimeSource;
}

export interface SamplerProbe {
  kind: SamplerKind;
  available: boolean;
  reason: string;
  detail?: string;
}

const openDefaultNvml: NvmlBackendFactory = async () => {
  const { openKoffiNvml } = await import("./nvml-koffi.js");
  return openKoffiNvml();
};

type NvmlProbe =
  | { available: true; backend: NvmlBackend; owned: boolean; reason: string }
  | { available: false; reason: string };

async function probeNvml(options: SamplerOptions): Promise<NvmlProbe> {
  const source = options.nvml ?? openDefaultNvml;
  let backend: NvmlBackend;
  let owned = false;
  try {
    if (typeof source === "function") {
      backend = await source();
      owned = true;
    } else {
      backend = source;
    }
  } catch (error) {
    return { available: false, reason: error instanceof Error ? error.message : String(error) };
  }
  const devices = backend
    .devices()
    .filter((info) => !options.gpuDevices || options.gpuDevices.includes(info.index));
  if (devices.length === 0) {
    if (owned) backend.close();
    return { available: false, reason: `NVML (${backend.description}) found no GPU to measure` };
  }
  const names = devices.map((info) => `gpu${info.index} ${info.name}`).join(", ");
  return {
    available: true,
    backend,
    owned,
    reason: `NVML ${backend.description}: ${devices.length} GPU(s): ${names}`,
  };
}

/** What each sampler would do on this machine, for `llem doctor`. Opens and closes NVML. */
export async function probeSamplers(options: SamplerOptions = {}): Promise<SamplerProbe[]> {
  const nvml = await probeNvml(options);
  if (nvml.available && nvml.owned) nvml.backend.close();
  const rapl = discoverRapl(options.powercapRoot ?? DEFAULT_POWERCAP_ROOT);
  const temperature = findCpuTemperature(options.hwmonRoot ?? DEFAULT_HWMON_ROOT);
  const temperatureNote = temperature
    ? `CPU temperature from ${temperature.description}`
    : "no CPU temperature sensor (no thermal-drift check on CPU runs)";
  return [
    { kind: "nvml", available: nvml.available, reason: nvml.reason },
    rapl.available
      ? {
          kind: "rapl",
          available: true,
          reason: "RAPL energy counters readable",
          detail: `${rapl.detail}; ${temperatureNote}`,
        }
      : { kind: "rapl", available: false, reason: rapl.reason },
    {
      kind: "estimate",
      available: true,
      reason:
        "always available: CPU time of the process × watts per core (an estimate, not a measurement)",
      detail: temperatureNote,
    },
    { kind: "none", available: true, reason: "always available: no energy figures" },
  ];
}

function unavailable(kind: SamplerKind, reason: string): LlemError {
  return new LlemError(
    "SAMPLER_UNAVAILABLE",
    `measurement.energy.sampler: "${kind}" is not available on this machine: ${reason}. Use sampler: auto (falls back to an estimate) or estimate.`,
    { details: { field: "measurement.energy.sampler", sampler: kind, reason } },
  );
}

/**
 * The sampler for an experiment's `measurement.energy`. `auto` takes the first available of
 * nvml > rapl > estimate, and its reason names what was picked and why each better one was
 * not. An explicitly requested sampler that is unavailable throws SAMPLER_UNAVAILABLE.
 */
export async function createSampler(
  config: EnergySamplerConfig,
  options: SamplerOptions = {},
): Promise<{ sampler: EnergySampler; reason: string }> {
  const interval = config.sample_interval_ms;
  const common = { sampleIntervalMs: interval, now: options.now, scheduler: options.scheduler };
  const cpuTemperature = findCpuTemperature(options.hwmonRoot ?? DEFAULT_HWMON_ROOT);
  const makeEstimate = (): EnergySampler =>
    new EstimateSampler({
      ...common,
      wattsPerCore: config.cpu_watts_per_core,
      cpuTimeUs: options.cpuTimeUs,
      cpuTemperature,
    });
  const makeNvml = (probe: Extract<NvmlProbe, { available: true }>): EnergySampler =>
    new NvmlSampler({
      ...common,
      // A backend the probe opened is handed over for the sampler to close at stop().
      backend: probe.owned ? async () => probe.backend : probe.backend,
      devices: options.gpuDevices,
    });
  const powercapRoot = options.powercapRoot ?? DEFAULT_POWERCAP_ROOT;

  switch (config.sampler) {
    case "none":
      return {
        sampler: new NoneSampler("measurement.energy.sampler is none", options.now),
        reason: "none requested: no energy is measured",
      };
    case "estimate":
      return {
        sampler: makeEstimate(),
        reason: `estimate requested: CPU time × ${config.cpu_watts_per_core} W per core`,
      };
    case "rapl": {
      const rapl = discoverRapl(powercapRoot);
      if (!rapl.available) throw unavailable("rapl", rapl.reason);
      return {
        sampler: new RaplSampler({ ...common, root: powercapRoot, cpuTemperature }),
        reason: `rapl requested: ${rapl.detail}`,
      };
    }
    case "nvml": {
      const nvml = await probeNvml(options);
      if (!nvml.available) throw unavailable("nvml", nvml.reason);
      return { sampler: makeNvml(nvml), reason: `nvml requested: ${nvml.reason}` };
    }
    case "auto": {
      const nvml = await probeNvml(options);
      if (nvml.available)
        return { sampler: makeNvml(nvml), reason: `auto chose nvml: ${nvml.reason}` };
      const rapl = discoverRapl(powercapRoot);
      if (rapl.available) {
        return {
          sampler: new RaplSampler({ ...common, root: powercapRoot, cpuTemperature }),
          reason: `auto chose rapl (${rapl.detail}); nvml unavailable: ${nvml.reason}`,
        };
      }
      return {
        sampler: makeEstimate(),
        reason: `auto chose estimate (CPU time × ${config.cpu_watts_per_core} W per core); nvml unavailable: ${nvml.reason}; rapl unavailable: ${rapl.reason}`,
      };
    }
    default: {
      const never: never = config.sampler;
      throw new LlemError(
        "CONFIG_INVALID",
        `measurement.energy.sampler: unknown sampler ${String(never)}`,
      );
    }
  }
}
