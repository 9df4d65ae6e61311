import { LlemError } from "@llem/schema";
import type { PlacedGpu } from "../gpus/resolve.js";
import { CombinedSampler, sharedScheduler } from "./combined.js";
import { DEFAULT_HWMON_ROOT, findCpuTemperature } from "./cpu-temperature.js";
import { type CpuTimeSource, EstimateSampler } from "./estimate.js";
import { NoneSampler } from "./none.js";
import { NvmlSampler } from "./nvml.js";
import type { NvmlBackend, NvmlBackendFactory } from "./nvml-backend.js";
import { openDefaultNvml } from "./nvml-open.js";
import { DEFAULT_POWERCAP_ROOT, discoverRapl, RaplSampler } from "./rapl.js";
import { timerScheduler } from "./scheduler.js";
import type {
  ComponentSamplerKind,
  DeviceKind,
  EnergySampler,
  EnergySamplerConfig,
  SamplerKind,
  Scheduler,
} from "./types.js";

export interface SamplerOptions {
  /** Root of the powercap tree; `/sys/class/powercap` by default. */
  powercapRoot?: string;
  /** Root of the hwmon tree for the CPU temperature (rapl, estimate); `/sys/class/hwmon` by default. */
  hwmonRoot?: string;
  /** NVML access; by default libnvidia-ml through koffi. Tests inject a recorded backend. */
  nvml?: NvmlBackend | NvmlBackendFactory;
  /**
   * The experiment's placed GPUs (gpus/resolve.ts): NVML measures exactly these. `[]` or null:
   * no GPU is placed, so none is measured. Absent: every GPU NVML lists (library use).
   */
  gpus?: readonly PlacedGpu[] | null;
  /** NVML device indices to measure where no placement is given; all by default. */
  gpuDevices?: number[];
  /** The NVML counter's update period; found by polling by default (NvmlSampler). */
  counterUpdatePeriodMs?: number | "detect";
  /** Monotonic clock in ms. */
  now?: () => number;
  /** Sleep of the NVML update-period detection (tests advance a virtual clock). */
  sleep?: (ms: number) => Promise<void>;
  scheduler?: Scheduler;
  /** CPU time source of the estimate sampler (process.cpuUsage by default). */
  cpuTimeUs?: CpuTimeSource;
}

/** What `createSampler` picked. */
export interface SamplerChoiceOutcome {
  sampler: EnergySampler;
  /** Why these samplers: what was asked for, what was found, why anything was left out. */
  reason: string;
  /** What the measurement covers: samplers and devices. Idle baselines are cached under it. */
  key: string;
  /** Components left out of the total, each with why. */
  notCovered: string[];
}

export interface SamplerProbe {
  kind: SamplerKind;
  available: boolean;
  reason: string;
  detail?: string;
}

/** One component of `llem doctor`: whether it can be measured here, by what, and why not. */
export interface ComponentProbe {
  component: DeviceKind;
  sampler: ComponentSamplerKind;
  method: "measured" | "estimated";
  available: boolean;
  devices: string[];
  reason: string;
}

type NvmlProbe =
  | { available: true; backend: NvmlBackend; owned: boolean; devices: string[]; reason: string }
  | { available: false; reason: string };

async function probeNvml(options: SamplerOptions): Promise<NvmlProbe> {
  if (options.gpus !== undefined && (options.gpus === null || options.gpus.length === 0)) {
    return { available: false, reason: "no GPU is placed on this experiment (gpus)" };
  }
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
  const placed = options.gpus;
  const devices = backend
    .devices()
    .filter((info) =>
      placed
        ? placed.some((gpu) => (gpu.uuid ? gpu.uuid === info.uuid : gpu.index === info.index))
        : !options.gpuDevices || options.gpuDevices.includes(info.index),
    );
  if (devices.length === 0) {
    if (owned) backend.close();
    return { available: false, reason: `NVML (${backend.description}) found no GPU to measure` };
  }
  const names = devices.map((info) => `gpu${info.index} ${info.name}`).join(", ");
  return {
    available: true,
    backend,
    owned,
    devices: devices.map((info) => info.uuid ?? `gpu${info.index}`),
    reason: `NVML ${backend.description}: ${devices.length} GPU(s): ${names}`,
  };
}

/** Every component this machine can measure (or estimate), each with why, for `llem doctor`. */
export async function probeComponents(options: SamplerOptions = {}): Promise<ComponentProbe[]> {
  const nvml = await probeNvml(options);
  if (nvml.available && nvml.owned) nvml.backend.close();
  const rapl = discoverRapl(options.powercapRoot ?? DEFAULT_POWERCAP_ROOT);
  const zones = (kind: "cpu_package" | "dram") =>
    rapl.available ? rapl.zones.filter((zone) => zone.kind === kind).map((z) => z.device) : [];
  const raplLine = (component: "cpu_package" | "dram"): ComponentProbe => {
    const devices = zones(component);
    const what = component === "dram" ? "DRAM" : "CPU package";
    return {
      component,
      sampler: "rapl",
      method: "measured",
      available: devices.length > 0,
      devices,
      reason: !rapl.available
        ? rapl.reason
        : devices.length > 0
          ? `RAPL ${what} counters: ${devices.join(", ")}`
          : `RAPL has no ${what} zone here (${rapl.detail})`,
    };
  };
  return [
    {
      component: "gpu",
      sampler: "nvml",
      method: "measured",
      available: nvml.available,
      devices: nvml.available ? nvml.devices : [],
      reason: nvml.reason,
    },
    raplLine("cpu_package"),
    raplLine("dram"),
    {
      component: "cpu_estimate",
      sampler: "estimate",
      method: "estimated",
      available: true,
      devices: ["cpu_estimate"],
      reason:
        "always available: CPU time of the process × watts per core (an estimate, not a measurement); auto uses it only when nothing here can be measured",
    },
  ];
}

/** What each sampler would do on this machine. Opens and closes NVML. */
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
    `measurement.energy.sampler: "${kind}" is not available on this machine: ${reason}. Use sampler: auto (measures what is measurable, else estimates) or estimate.`,
    { details: { field: "measurement.energy.sampler", sampler: kind, reason } },
  );
}

/** One sampler that can be built, with the devices it measures. */
interface Candidate {
  kind: ComponentSamplerKind;
  devices: string[];
  detail: string;
  build: (scheduler: Scheduler) => EnergySampler;
  /** Releases what the probe opened, for a candidate that is not built. */
  release?: () => void;
}

/**
 * The samplers of an experiment's `measurement.energy.sampler`:
 * - `auto`: every component measurable here — the placed GPUs through NVML, CPU package and
 *   DRAM through RAPL — and, only when none is, the CPU estimate (labelled estimated);
 * - a list (`[nvml, rapl]`): exactly those, each required to be available;
 * - `nvml`, `rapl`, `estimate`: that one; `none`: no energy.
 * Several samplers share one timer. An unavailable sampler that was asked for by name throws
 * SAMPLER_UNAVAILABLE naming the field.
 */
export async function createSampler(
  config: EnergySamplerConfig,
  options: SamplerOptions = {},
): Promise<SamplerChoiceOutcome> {
  if (config.sampler === "none") {
    return {
      sampler: new NoneSampler("measurement.energy.sampler is none", options.now),
      reason: "none requested: no energy is measured",
      key: "none",
      notCovered: ["every component: sampler none"],
    };
  }
  const interval = config.sample_interval_ms;
  const cpuTemperature = findCpuTemperature(options.hwmonRoot ?? DEFAULT_HWMON_ROOT);
  const powercapRoot = options.powercapRoot ?? DEFAULT_POWERCAP_ROOT;
  const common = (scheduler: Scheduler) => ({
    sampleIntervalMs: interval,
    now: options.now,
    scheduler,
  });
  const estimate: Candidate = {
    kind: "estimate",
    devices: ["cpu_estimate"],
    detail: `CPU time × ${config.cpu_watts_per_core} W per core`,
    build: (scheduler) =>
      new EstimateSampler({
        ...common(scheduler),
        wattsPerCore: config.cpu_watts_per_core,
        cpuTimeUs: options.cpuTimeUs,
        cpuTemperature,
      }),
  };
  const raplCandidate = (): Candidate | { unavailable: string } => {
    const rapl = discoverRapl(powercapRoot);
    if (!rapl.available) return { unavailable: rapl.reason };
    return {
      kind: "rapl",
      devices: rapl.zones.map((zone) => zone.device),
      detail: rapl.detail,
      build: (scheduler) =>
        new RaplSampler({ ...common(scheduler), root: powercapRoot, cpuTemperature }),
    };
  };
  const nvmlCandidate = async (): Promise<Candidate | { unavailable: string }> => {
    const nvml = await probeNvml(options);
    if (!nvml.available) return { unavailable: nvml.reason };
    return {
      kind: "nvml",
      devices: nvml.devices,
      detail: nvml.reason,
      release: () => {
        if (nvml.owned) nvml.backend.close();
      },
      build: (scheduler) =>
        new NvmlSampler({
          ...common(scheduler),
          // A backend the probe opened is handed over for the sampler to close at stop().
          backend: nvml.owned ? async () => nvml.backend : nvml.backend,
          ...(options.gpus ? { gpus: options.gpus } : {}),
          ...(options.gpuDevices ? { devices: options.gpuDevices } : {}),
          ...(options.counterUpdatePeriodMs === undefined
            ? {}
            : { counterUpdatePeriodMs: options.counterUpdatePeriodMs }),
          ...(options.sleep ? { sleep: options.sleep } : {}),
        }),
    };
  };

  const chosen: Candidate[] = [];
  const notCovered: string[] = [];
  let reason: string;
  if (config.sampler === "auto") {
    const nvml = await nvmlCandidate();
    const rapl = raplCandidate();
    const skipped: string[] = [];
    if ("build" in nvml) chosen.push(nvml);
    else {
      skipped.push(`nvml unavailable: ${nvml.unavailable}`);
      notCovered.push(`gpu: ${nvml.unavailable}`);
    }
    if ("build" in rapl) chosen.push(rapl);
    else {
      skipped.push(`rapl unavailable: ${rapl.unavailable}`);
      notCovered.push(`cpu_package, dram: ${rapl.unavailable}`);
    }
    if (chosen.length === 0) {
      chosen.push(estimate);
      reason = `auto chose estimate (${estimate.detail}): nothing here can be measured; ${skipped.join("; ")}`;
    } else {
      const picked = chosen.map((candidate) => `${candidate.kind} (${candidate.detail})`);
      reason = `auto measures ${picked.join(" and ")}${skipped.length > 0 ? `; ${skipped.join("; ")}` : ""}`;
    }
  } else {
    const asked: readonly ComponentSamplerKind[] =
      typeof config.sampler === "string" ? [config.sampler] : config.sampler;
    for (const kind of asked) {
      const candidate =
        kind === "estimate" ? estimate : kind === "rapl" ? raplCandidate() : await nvmlCandidate();
      if (!("build" in candidate)) {
        // NVML opened for a sampler that will now not be built is closed here.
        for (const other of chosen) other.release?.();
        throw unavailable(kind, candidate.unavailable);
      }
      chosen.push(candidate);
    }
    for (const kind of ["nvml", "rapl"] as const) {
      if (!asked.includes(kind)) {
        notCovered.push(
          `${kind === "nvml" ? "gpu" : "cpu_package, dram"}: not asked for (sampler: ${JSON.stringify(config.sampler)})`,
        );
      }
    }
    reason = `${asked.join(" + ")} requested: ${chosen.map((c) => c.detail).join("; ")}`;
  }

  const base = options.scheduler ?? timerScheduler;
  const scheduler = chosen.length > 1 ? sharedScheduler(base) : base;
  const samplers = chosen.map((candidate) => candidate.build(scheduler));
  return {
    sampler: samplers.length === 1 ? samplers[0]! : new CombinedSampler(samplers),
    reason,
    key: chosen.map((candidate) => `${candidate.kind}:${candidate.devices.join(",")}`).join("+"),
    notCovered,
  };
}
