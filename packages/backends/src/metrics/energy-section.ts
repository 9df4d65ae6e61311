import type { EnergyComponent } from "@llem/schema";
import type { IdleBaseline } from "../energy/baseline.js";
import { energyBetween, totalEnergy } from "../energy/counter.js";
import type { DeviceEnergy, DeviceKind, EnergyMeasurement } from "../energy/types.js";
import { adjustedEnergy, sumOrNull } from "./energy.js";

/**
 * The per-component part of a result's `energy` section, from one window's measurement:
 * one block per device (`components`), the sums per component kind (`by_component`: every GPU
 * of the experiment together), the total the headline figures are (`total`), and the energy
 * over the steady-state span (`steady_state`) from the same readings. Pure.
 *
 * Adjusted energy is per device: max(0, raw − that device's idle power × window); the total's
 * adjusted energy is the sum of its devices'. A baseline cached before per-device idle power
 * existed adjusts the total only.
 */

/** The span of the window where the load was steady (ms from the window's start). */
export interface SteadyStateSpan {
  fromMs: number;
  toMs: number;
  /** Output tokens generated inside the span, where the engine knows them. */
  outputTokens?: number | null;
}

export interface ComponentSectionInput {
  energy: EnergyMeasurement;
  baseline: IdleBaseline | null;
  /** The window the energy figures are over, in seconds. */
  windowS: number;
  /** createSampler's `notCovered`. */
  notCovered: readonly string[];
  steadyState?: SteadyStateSpan | null;
}

const SAMPLER_OF: Record<DeviceKind, EnergyComponent["source"]> = {
  gpu: "nvml",
  cpu_package: "rapl",
  dram: "rapl",
  cpu_estimate: "estimate",
};

const DEFAULT_SCOPE: Record<DeviceKind, string> = {
  gpu: "one GPU board",
  cpu_package: "a CPU socket (every process on it)",
  dram: "the DRAM of a CPU socket",
  cpu_estimate: "this process's CPU time (a model)",
};

function idlePowerOf(
  device: DeviceEnergy,
  all: readonly DeviceEnergy[],
  baseline: IdleBaseline | null,
) {
  if (!baseline) return null;
  const own = baseline.components?.find((entry) => entry.device === device.device);
  if (own) return own.power_w;
  // A baseline without per-device figures is the device's own only if it is the only device.
  return baseline.components === undefined && all.length === 1 ? baseline.power_w : null;
}

export function componentSection(input: ComponentSectionInput) {
  const { energy, baseline, windowS } = input;
  const devices = energy.per_device;
  const steady = input.steadyState ?? null;
  const components: EnergyComponent[] = devices.map((device) => {
    const idle = idlePowerOf(device, devices, baseline);
    const block: EnergyComponent = {
      component: device.kind,
      device: device.device,
      source: SAMPLER_OF[device.kind],
      method: device.kind === "cpu_estimate" ? "estimated" : "measured",
      reading:
        device.source ?? (device.kind === "cpu_estimate" ? "cpu_time_model" : "energy_counter"),
      scope: device.scope ?? DEFAULT_SCOPE[device.kind],
      raw_j: device.energy_j,
      adjusted_j: idle === null ? null : adjustedEnergy(device.energy_j, idle, windowS),
      idle_power_w: idle,
      integrated_j: device.integrated_j ?? null,
      duration_s: energy.duration_s,
      sample_interval_ms: energy.sample_interval_ms,
      sample_count: energy.samples.filter((sample) => sample.device === device.device).length,
    };
    if (device.name) block.name = device.name;
    if (steady)
      block.steady_state_raw_j = energyBetween(device.cumulative, steady.fromMs, steady.toMs);
    if (device.gpu) block.gpu = { ...device.gpu, name: device.name ?? `GPU ${device.gpu.index}` };
    return block;
  });

  const kinds = [...new Set(components.map((block) => block.component))];
  const rawJ = totalEnergy(devices);
  const perDeviceAdjusted = sumOrNull(components.map((block) => block.adjusted_j));
  const adjustedJ =
    baseline === null
      ? null
      : (perDeviceAdjusted ?? adjustedEnergy(rawJ, baseline.power_w, windowS));
  const method = energy.method;
  const total = {
    components: kinds,
    devices: components.map((block) => block.device),
    method,
    raw_j: rawJ,
    adjusted_j: adjustedJ,
    not_covered: [...input.notCovered],
  };
  const byComponent = kinds.map((kind) => {
    const of = components.filter((block) => block.component === kind);
    return {
      component: kind,
      devices: of.map((block) => block.device),
      raw_j: sumOrNull(of.map((block) => block.raw_j)),
      adjusted_j: baseline === null ? null : sumOrNull(of.map((block) => block.adjusted_j)),
    };
  });

  let steadyState = null;
  if (steady) {
    const spanS = Math.max(0, steady.toMs - steady.fromMs) / 1000;
    const raw = sumOrNull(components.map((block) => block.steady_state_raw_j ?? null));
    const adjusted =
      baseline === null || raw === null
        ? null
        : sumOrNull(
            components.map((block) =>
              block.idle_power_w === null
                ? null
                : adjustedEnergy(block.steady_state_raw_j ?? null, block.idle_power_w, spanS),
            ),
          );
    const tokens = steady.outputTokens ?? null;
    const basis = adjusted ?? raw;
    steadyState = {
      from_ms: steady.fromMs,
      to_ms: steady.toMs,
      duration_s: spanS,
      raw_j: raw,
      adjusted_j: adjusted,
      output_tokens: tokens,
      energy_per_output_token_j: basis === null || !tokens ? null : basis / tokens,
    };
  }

  const headline =
    kinds.length === 0
      ? "no energy"
      : `${kinds.join(" + ")}, ${adjustedJ === null ? "raw" : "idle-adjusted"}${method === "estimated" ? " (estimated)" : ""}`;
  return {
    rawJ,
    adjustedJ,
    headline,
    components,
    total,
    byComponent,
    steadyState,
  };
}
