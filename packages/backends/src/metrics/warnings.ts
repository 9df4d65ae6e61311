import type { DeviceTemperature, EnergyMethod, SamplerKind } from "../energy/types.js";
import type { ResultWarning } from "./energy.js";

/** Shorter windows hold too few counter updates (NVML: ~every 100 ms) to average out noise. */
export const MIN_WINDOW_S = 10;
export const MIN_SAMPLE_COUNT = 10;
/** Leakage power grows with temperature; a 10 °C swing inside a window biases its energy. */
export const THERMAL_DRIFT_THRESHOLD_C = 10;

export interface MeasurementWarningInputs {
  window_s: number;
  sample_count: number;
  method: EnergyMethod;
  sampler: SamplerKind | "combined";
  temperatures?: readonly DeviceTemperature[];
  /** The sampler's own notes (`EnergyMeasurement.warnings`), passed through with code `sampler`. */
  sampler_warnings?: readonly string[];
}

/** Warnings that qualify a result's energy figures; stable codes, human messages. */
export function measurementWarnings(inputs: MeasurementWarningInputs): ResultWarning[] {
  const warnings: ResultWarning[] = [];
  if (inputs.window_s < MIN_WINDOW_S) {
    warnings.push({
      code: "short_window",
      message: `measurement window ${inputs.window_s.toFixed(2)} s is under ${MIN_WINDOW_S} s; energy figures are unreliable. Use more prompts or longer outputs.`,
    });
  }
  if (inputs.sampler === "none" || inputs.method === "none") {
    warnings.push({
      code: "no_energy",
      message: "energy was not measured (sampler none); energy figures are null",
    });
  } else if (inputs.sample_count < MIN_SAMPLE_COUNT) {
    warnings.push({
      code: "low_sample_count",
      message: `only ${inputs.sample_count} power samples in the window (fewer than ${MIN_SAMPLE_COUNT}); the timeseries and cross-checks are thin`,
    });
  }
  if (inputs.method === "estimated") {
    warnings.push({
      code: "estimated_energy",
      message: `energy is estimated by the ${inputs.sampler === "combined" ? "estimate" : inputs.sampler} model, not measured; compare it only with other estimates`,
    });
  }
  for (const temperature of inputs.temperatures ?? []) {
    if (temperature.start_c === null || temperature.end_c === null) continue;
    const drift = temperature.end_c - temperature.start_c;
    if (Math.abs(drift) > THERMAL_DRIFT_THRESHOLD_C) {
      warnings.push({
        code: "thermal_drift",
        message: `${temperature.device} went from ${temperature.start_c} °C to ${temperature.end_c} °C during the window (threshold ${THERMAL_DRIFT_THRESHOLD_C} °C); add a thermal floor or a cooldown between experiments`,
      });
    }
  }
  for (const message of inputs.sampler_warnings ?? []) {
    warnings.push({ code: "sampler", message });
  }
  return warnings;
}
