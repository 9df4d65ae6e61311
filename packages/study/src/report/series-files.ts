/**
 * Readers of an experiment's per-sample files, both optional and read defensively:
 *
 * - `timeseries.csv` (`t_ms,device,power_w,temperature_c`; ms since the window start), grouped
 *   per device;
 * - `requests.jsonl`, one JSON object per request, written by the server engines' load generator:
 *   `ttft_ms`, `e2e_ms` (or `latency_ms`), `itl_ms` (the inter-token gaps, an array), `error`.
 *   Lines that do not parse, and fields of other names or types, are skipped; a request with an
 *   `error` is counted, not measured.
 */
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { printable } from "@llem/schema";

export interface DeviceSeries {
  device: string;
  tMs: number[];
  watts: number[];
}

/** Power samples per device, in file order; null when the file is missing or has no samples. */
export async function readTimeseries(path: string): Promise<DeviceSeries[] | null> {
  let textContent: string;
  try {
    textContent = await readFile(path, "utf8");
  } catch {
    return null;
  }
  const lines = textContent.split("\n");
  const header = (lines[0] ?? "").split(",");
  const tColumn = header.indexOf("t_ms");
  const deviceColumn = header.indexOf("device");
  const powerColumn = header.indexOf("power_w");
  if (tColumn === -1 || powerColumn === -1) return null;
  const byDevice = new Map<string, DeviceSeries>();
  for (const line of lines.slice(1)) {
    if (!line) continue;
    // Device names are plain words; a quoted field (csvField in @llem/backends) loses its quotes.
    const fields = line.split(",").map((field) => field.replace(/^"|"$/g, ""));
    const t = Number(fields[tColumn]);
    const watts = Number(fields[powerColumn]);
    if (!Number.isFinite(t) || !Number.isFinite(watts)) continue;
    const device = printable(deviceColumn === -1 ? "power" : (fields[deviceColumn] ?? "power"));
    let series = byDevice.get(device);
    if (!series) {
      series = { device, tMs: [], watts: [] };
      byDevice.set(device, series);
    }
    series.tMs.push(t);
    series.watts.push(watts);
  }
  return byDevice.size > 0 ? [...byDevice.values()] : null;
}

export interface RequestSamples {
  ttft: number[];
  e2e: number[];
  itl: number[];
  errors: number;
}

function firstNumber(record: Record<string, unknown>, names: string[]): number | null {
  for (const name of names) {
    const value = record[name];
    if (typeof value === "number" && Number.isFinite(value)) return value;
  }
  return null;
}

/**
 * Appends the requests of one `requests.jsonl` to `into` (a config's cycles add up); false when
 * the file does not exist. Read line by line: a long run's file never sits in memory whole.
 */
export async function readRequests(path: string, into: RequestSamples): Promise<boolean> {
  const stream = createReadStream(path, { encoding: "utf8" });
  const opened = await new Promise<boolean>((resolve) => {
    stream.once("open", () => resolve(true));
    stream.once("error", () => resolve(false));
  });
  if (!opened) return false;
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof record !== "object" || record === null) continue;
    const request = record as Record<string, unknown>;
    if (request.error !== undefined && request.error !== null && request.error !== false) {
      into.errors++;
      continue;
    }
    const ttft = firstNumber(request, ["ttft_ms", "ttft"]);
    const e2e = firstNumber(request, ["e2e_ms", "latency_ms", "request_latency_ms", "latency"]);
    if (ttft !== null) into.ttft.push(ttft);
    if (e2e !== null) into.e2e.push(e2e);
    const gaps = request.itl_ms ?? request.itl ?? request.itl_gaps_ms;
    if (Array.isArray(gaps)) {
      for (const gap of gaps)
        if (typeof gap === "number" && Number.isFinite(gap)) into.itl.push(gap);
    }
  }
  return true;
}
