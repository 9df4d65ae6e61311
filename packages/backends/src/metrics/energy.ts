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
 * Relative tolerance of the self-consistency checks. The identities are exact for figures taken
 * over one window; 5 % leaves room for the sampler's window and the workload's window differing
 * by a sampling interval or two (100–200 ms of a ≥ 10 s window), while a unit slip (×1000),
 * a raw/adjusted mix-up or throughput timed over another span still fails loudly.
 */
export const CONSISTENCY_TOLERANCE = 0.05;

export interface ConsistencyInputs {
  /** Energy of the window; the other energy figures must be on the same basis (raw or adjusted). */
  energy_j: number | null;
  mean_power_w: number | null;
  window_s: number;
  output_tokens: number;
  energy_per_output_token_j: number | null;
  output_tokens_per_s: number;
}

function relativeDifference(a: number, b: number): number {
  const scale = Math.max(Math.abs(a), Math.abs(b));
  return scale === 0 ? 0 : Math.abs(a - b) / scale;
}

/**
 * Checks that the result's figures agree with each other:
 * - mean power ≈ energy ÷ window;
 * - J per output token ≈ energy ÷ output tokens;
 * - J per output token ≈ mean power ÷ output tokens per second.
 * Each failure (beyond `CONSISTENCY_TOLERANCE`) is a warning naming both sides.
 */
export function consistencyChecks(inputs: ConsistencyInputs): ResultWarning[] {
  const warnings: ResultWarning[] = [];
  const { energy_j, mean_power_w, window_s, output_tokens, energy_per_output_token_j } = inputs;
  const check = (code: string, label: string, actual: number, expected: number): void => {
    const difference = relativeDifference(actual, expected);
    if (difference > CONSISTENCY_TOLERANCE) {
      warnings.push({
        code,
        message: `${label}: ${actual.toPrecision(4)} vs ${expected.toPrecision(4)} expected, ${(difference * 100).toFixed(1)} % apart (tolerance ${CONSISTENCY_TOLERANCE * 100} %)`,
      });
    }
  };
  if (energy_j !== null && mean_power_w !== null && window_s > 0) {
    check(
      "inconsistent_mean_power",
      "mean power (W) vs energy ÷ window",
      mean_power_w,
      energy_j / window_s,
    );
  }
  if (energy_j !== null && energy_per_output_token_j !== null && output_tokens > 0) {
    check(
      "inconsistent_energy_per_token",
      "J per output token vs energy ÷ output tokens",
      energy_per_output_token_j,
      energy_j / output_tokens,
    );
  }
  if (
    mean_power_w !== null &&
    energy_per_output_token_j !== null &&
    inputs.output_tokens_per_s > 0
  ) {
    check(
      "inconsistent_power_throughput",
      "J per output token vs mean power ÷ output tokens per second",
      energy_per_output_token_j,
      mean_power_w / inputs.output_tokens_per_s,
    );
  }
  return warnings;
}
