/**
 * How numbers read in the report, in the page, the tooltips and the SVGs alike (pure; the browser
 * bundle imports it). Three significant figures, thousands grouped, tiny values in exponent form:
 *
 *   num(5427.589)   → "5,428"        num(0.0015466) → "0.00155"
 *   num(0.0000042)  → "4.2e-6"       num(null)      → "–"
 *   meanSd({mean: 0.0015, sd: 0.0000049, …})  → "0.0015 ± 4.9e-6"
 *   percent(0.0312) → "3.1%"
 */
import type { Spread } from "./model.js";

const grouped = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 3 });

export function num(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && magnitude < 1e-4) {
    return value.toExponential(1).replace(".0e", "e");
  }
  if (magnitude >= 1000) return Math.round(value).toLocaleString("en-US");
  return grouped.format(value);
}

export function meanSd(spread: Spread | undefined | null): string {
  if (!spread) return "–";
  return spread.n > 1 ? `${num(spread.mean)} ± ${num(spread.sd)}` : num(spread.mean);
}

export function percent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return "–";
  return `${(fraction * 100).toFixed(fraction < 0.1 ? 1 : 0)}%`;
}
