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
  };
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
  for (const device of energy.per_device) {
    check(
      "counter_power_disagree",
      `${device.device}: energy counter vs integrated power samples (J)`,
      device.energy_j,
      device.integrated_j ?? null,
      COUNTER_CROSS_CHECK_TOLERANCE,
    );
  }
  return warnings;
}
