/** Number and duration formatting shared by every command's output. */

/** Three significant figures, without exponent noise for ordinary magnitudes. */
export function sig3(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "-";
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return Math.round(value).toString();
  if (magnitude < 0.0001) return value.toExponential(2);
  return Number(value.toPrecision(3)).toString();
}

/** "4.2s", "4m 32s", "1h 05m", "2d 03h". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "-";
  const s = Math.max(0, seconds);
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad2(Math.floor(s % 60))}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad2(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d ${pad2(Math.floor((s % 86_400) / 3600))}h`;
}

function pad2(value: number): string {
  return value.toString().padStart(2, "0");
}

/** Marker shown after every estimated energy figure. */
export const ESTIMATED_MARK = "est.";

/** J per output token, marked when the figure is an estimate rather than a measurement. */
export function formatJoulesPerToken(
  value: number | null | undefined,
  method: string | null | undefined,
): string {
  if (value === null || value === undefined) return method === "none" ? "no energy" : "-";
  return `${sig3(value)} J/tok${method === "estimated" ? ` ${ESTIMATED_MARK}` : ""}`;
}

/** Seconds since an ISO timestamp, relative to `now`. */
export function secondsSince(iso: string | null | undefined, now = Date.now()): number | null {
  if (!iso) return null;
  const at = Date.parse(iso);
  return Number.isNaN(at) ? null : Math.max(0, (now - at) / 1000);
}

/** "1 run", "2 runs", "1,000 configs". */
export function plural(count: number, noun: string): string {
  return `${count.toLocaleString("en-US")} ${noun}${count === 1 ? "" : "s"}`;
}
