/**
 * Energy arithmetic of one result. Every figure here is derived from the same window, so the
 * identities checked by `consistencyChecks` hold exactly up to rounding when nothing is wrong.
 */

export interface ResultWarning {
  code: string;
  message: string;
}

/**
 * Energy above idle: max(0, raw − P_idle × window). Clamped at 0 because idle power measured at
 * another moment can exceed a short, light window's average; a negative energy is noise, not a
 * saving. Null when the raw energy is unknown.
 */
export function adjustedEnergy(rawJ: number | null, idleW: number, windowS: number): number | null {
  if (rawJ === null) return null;
  return Math.max(0, rawJ - idleW * windowS);
}

/** Mean power over the window; null without energy or with an empty window. */
export function meanPower(energyJ: number | null, windowS: number): number | null {
  if (energyJ === null || !(windowS > 0)) return null;
  return energyJ / windowS;
}

/** Energy per item (output token, request); null without energy or items. */
export function energyPer(energyJ: number | null, count: number): number | null {
  if (energyJ === null || !(count > 0)) return null;
  return energyJ / count;
}

/**
 * Relative tolerance of the figure checks. A result's figures are derived from one window, so
 * they agree to rounding when nothing is wrong; 5 % still catches a unit slip (×1000), a
 * raw/adjusted mix-up or a figure taken over another span.
 */
export const CONSISTENCY_TOLERANCE = 0.05;

/**
 * Tolerance of counter energy against integrated power samples. They should agree within ~1 %
 * (zeus #12), but NVML's power reading is a 1 s moving average on Ampere and newer, which lags
 * every change of load; over windows of a few seconds that lag alone reaches several per cent.
 * 10 % flags real disagreement (a broken sensor, zeus #181) without crying wolf on every window.
 */
export const COUNTER_CROSS_CHECK_TOLERANCE = 0.1;

/** The figures of a result that the checks compare: what result.json reports, nothing recomputed. */
export interface ReportedFigures {
  window: { duration_s: number };
  tokens: { output: number; requests: number };
  energy: {
    raw_j: number | null;
    adjusted_j: number | null;
    energy_per_output_token_j: number | null;
    energy_per_output_token_raw_j?: number | null;
    energy_per_output_token_adjusted_j?: number | null;
    energy_per_request_j: number | null;
    mean_power_w: number | null;
    /** The sampler's own window (start() to stop()); the workload's window where absent. */
    duration_s?: number;
    per_device: ReadonlyArray<{ device: string; energy_j: number; integrated_j?: number | null }>;
    components?: ReadonlyArray<ReportedComponent>;
    total?: { raw_j: number | null; adjusted_j: number | null };
    by_component?: ReadonlyArray<{
      component: string;
      devices: readonly string[];
      raw_j: number | null;
      adjusted_j: number | null;
    }>;
    steady_state?: { raw_j: number | null } | null;
  };
}

/** One component block as a result reports it (the fields the checks read). */
export interface ReportedComponent {
  device: string;
  raw_j: number | null;
  adjusted_j: number | null;
  idle_power_w: number | null;
  integrated_j: number | null;
  duration_s: number;
  steady_state_raw_j?: number | null;
  gpu?: { mean_power_w: number | null };
}

function relativeDifference(a: number, b: number): number {
  const scale = Math.max(Math.abs(a), Math.abs(b));
  return scale === 0 ? 0 : Math.abs(a - b) / scale;
}

/**
 * Checks that what a result reports agrees with itself, each figure against the figures it was
 * derived from — so a bug anywhere between the sampler and result.json shows as a warning:
 * - J per output token (the headline, and the raw and adjusted ones each) ≈ that energy ÷ output tokens;
 * - J per request ≈ the headline's energy ÷ requests;
 * - mean power × the sampler's window ≈ raw energy;
 * - per device, where a sampler read an energy counter and also sampled power: the counter's
 *   energy ≈ the integrated power samples (tolerance `COUNTER_CROSS_CHECK_TOLERANCE`).
 * Each disagreement beyond the tolerance is one warning naming both figures.
 */
export function consistencyChecks(result: ReportedFigures): ResultWarning[] {
  const warnings: ResultWarning[] = [];
  const { energy, tokens } = result;
  const check = (
    code: string,
    label: string,
    reported: number | null | undefined,
    expected: number | null,
    tolerance = CONSISTENCY_TOLERANCE,
  ): void => {
    if (reported === null || reported === undefined || expected === null) return;
    const difference = relativeDifference(reported, expected);
    if (difference > tolerance) {
      warnings.push({
        code,
        message: `${label}: ${reported.toPrecision(4)} reported, ${expected.toPrecision(4)} from the figures it derives from, ${(difference * 100).toFixed(1)} % apart (tolerance ${tolerance * 100} %)`,
      });
    }
  };
  const basis = energy.adjusted_j ?? energy.raw_j;
  check(
    "inconsistent_energy_per_token",
    `J per output token vs ${energy.adjusted_j === null ? "raw" : "adjusted"} energy ÷ output tokens`,
    energy.energy_per_output_token_j,
    energyPer(basis, tokens.output),
  );
  check(
    "inconsistent_energy_per_token",
    "raw J per output token vs raw energy ÷ output tokens",
    energy.energy_per_output_token_raw_j,
    energyPer(energy.raw_j, tokens.output),
  );
  check(
    "inconsistent_energy_per_token",
    "adjusted J per output token vs adjusted energy ÷ output tokens",
    energy.energy_per_output_token_adjusted_j,
    energyPer(energy.adjusted_j, tokens.output),
  );
  check(
    "inconsistent_energy_per_request",
    "J per request vs energy ÷ requests",
    energy.energy_per_request_j,
    energyPer(basis, tokens.requests),
  );
  const windowS =
    energy.duration_s && energy.duration_s > 0 ? energy.duration_s : result.window.duration_s;
  check(
    "inconsistent_mean_power",
    "mean power × window vs raw energy (J)",
    energy.mean_power_w === null ? null : energy.mean_power_w * windowS,
    energy.raw_j,
  );
  // Per device, the counter against its integrated power: judged on the component blocks where
  // the result has them (the older per_device list carries the same figures).
  for (const device of energy.components ?? energy.per_device) {
    const counter = "raw_j" in device ? device.raw_j : device.energy_j;
    check(
      "counter_power_disagree",
      `${device.device}: energy counter vs integrated power samples (J)`,
      counter,
      device.integrated_j ?? null,
      COUNTER_CROSS_CHECK_TOLERANCE,
    );
  }
  if (energy.components) warnings.push(...componentChecks(energy, check));
  return warnings;
}

type Check = (
  code: string,
  label: string,
  reported: number | null | undefined,
  expected: number | null,
) => void;

/** Σ values; null for none, or when any is unknown (a sum that skips one would look right). */
export function sumOrNull(values: ReadonlyArray<number | null | undefined>): number | null {
  if (values.length === 0 || values.some((value) => value === null || value === undefined)) {
    return null;
  }
  return values.reduce<number>((total, value) => total + (value as number), 0);
}
const sum = sumOrNull;

/**
 * The component blocks against the figures they add up to: each device's adjusted energy
 * against its raw energy and idle power, a GPU's mean power against its energy, the total and
 * the per-kind sums against their devices, the headline against the total, and the steady
 * state against its devices and against the whole window it lies inside.
 */
function componentChecks(energy: ReportedFigures["energy"], check: Check): ResultWarning[] {
  const components = energy.components ?? [];
  for (const block of components) {
    if (block.idle_power_w !== null) {
      check(
        "inconsistent_component",
        `${block.device}: adjusted energy vs max(0, raw − idle power × window) (J)`,
        block.adjusted_j,
        adjustedEnergy(block.raw_j, block.idle_power_w, block.duration_s),
      );
    }
    if (block.gpu && block.duration_s > 0) {
      check(
        "inconsistent_component",
        `${block.device}: mean power × window vs its energy (J)`,
        block.gpu.mean_power_w === null ? null : block.gpu.mean_power_w * block.duration_s,
        block.raw_j,
      );
    }
  }
  if (energy.total) {
    check(
      "inconsistent_total",
      "headline raw energy vs the total's (J)",
      energy.raw_j,
      energy.total.raw_j,
    );
    check(
      "inconsistent_total",
      "total raw energy vs the sum of its devices' (J)",
      energy.total.raw_j,
      sum(components.map((block) => block.raw_j)),
    );
    const adjusted = components.every((block) => block.idle_power_w !== null)
      ? sum(components.map((block) => block.adjusted_j))
      : null;
    check(
      "inconsistent_total",
      "total adjusted energy vs the sum of its devices' (J)",
      energy.total.adjusted_j,
      adjusted,
    );
  }
  for (const group of energy.by_component ?? []) {
    const of = components.filter((block) => group.devices.includes(block.device));
    check(
      "inconsistent_total",
      `${group.component} sum vs its devices (J)`,
      group.raw_j,
      sum(of.map((block) => block.raw_j)),
    );
  }
  const warnings: ResultWarning[] = [];
  const steady = energy.steady_state;
  if (steady && steady.raw_j !== null) {
    check(
      "inconsistent_steady_state",
      "steady-state energy vs the sum of its devices' (J)",
      steady.raw_j,
      sum(components.map((block) => block.steady_state_raw_j)),
    );
    const whole = energy.total?.raw_j ?? energy.raw_j;
    if (whole !== null && steady.raw_j > whole * (1 + CONSISTENCY_TOLERANCE)) {
      warnings.push({
        code: "inconsistent_steady_state",
        message: `steady-state energy ${steady.raw_j.toPrecision(4)} J exceeds the whole window's ${whole.toPrecision(4)} J, which contains it`,
      });
    }
  }
  return warnings;
}
