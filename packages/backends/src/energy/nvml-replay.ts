import type { NvmlBackend, NvmlDeviceInfo, NvmlReading } from "./nvml-backend.js";

/**
 * Replays recorded GPU readings through the NVML sampler, so recorded data takes the same path
 * as a live GPU. Two sources:
 * - `nvidia-smi --query-gpu=timestamp,index,power.draw,temperature.gpu --format=csv -lms 100`
 *   output (power and temperature only: nvidia-smi has no energy-counter field, so a replay of it
 *   behaves like a GPU without the counter and the sampler integrates power);
 * - an `NvmlRecording` that also holds nvmlDeviceGetTotalEnergyConsumption readings.
 */

export interface RecordedReading {
  /** ms since the recording started. */
  t_ms: number;
  index: number;
  /** null: the field was "[N/A]" / unsupported in that row. */
  power_w: number | null;
  temperature_c: number | null;
  /** Total-energy counter in mJ; absent or null when the recording has none. */
  energy_mj?: number | null;
  /** Memory in use, bytes; absent where not recorded. */
  memory_used_bytes?: number | null;
}

export interface NvmlRecording {
  /** Where and how the data was obtained (GPU, driver, tool, date). */
  source: string;
  devices: NvmlDeviceInfo[];
  readings: RecordedReading[];
}

const MISSING = /^\[?(N\/A|Not Supported|Unknown Error|GPU is lost|Requires Pstate \w+)\]?$/i;

function parseNumber(field: string | undefined): number | null {
  if (field === undefined) return null;
  const text = field.trim().replace(/\s*(W|C|MiB|MHz|%|mJ)$/, "");
  if (text === "" || MISSING.test(text)) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

/** "2024/06/01 11:27:05.177" → ms; the offset is irrelevant, only differences are used. */
function parseTimestamp(field: string): number | null {
  const match = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(
    field.trim(),
  );
  if (!match) return null;
  const [, y, mo, d, h, mi, s, frac = "0"] = match;
  return (
    Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) +
    Number(`0.${frac}`) * 1000
  );
}

/**
 * Parses nvidia-smi `--format=csv` output (with or without units, header required). Columns are
 * found by name, so any `--query-gpu` order works; `power.draw`, `power.draw.instant` and
 * `power.draw.average` are accepted (the first present wins). Lines starting with `#` are
 * comments (provenance notes in fixtures). Repeated headers (a restarted logger appending to the
 * same file) are skipped. Rows that cannot be parsed are skipped and counted.
 */
export function parseNvidiaSmiCsv(
  text: string,
  source = "nvidia-smi CSV",
): NvmlRecording & { skipped_rows: number } {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "" && !line.startsWith("#"));
  const header = lines[0];
  if (!header) throw new Error(`${source}: no header line`);
  const columns = header.split(",").map((name) => name.trim().replace(/\s*\[.*\]$/, ""));
  const find = (...names: string[]): number => {
    for (const name of names) {
      const at = columns.indexOf(name);
      if (at !== -1) return at;
    }
    return -1;
  };
  const timestampAt = find("timestamp");
  const indexAt = find("index");
  const powerAt = find("power.draw.instant", "power.draw", "power.draw.average");
  const temperatureAt = find("temperature.gpu");
  const nameAt = find("name");
  const uuidAt = find("uuid");
  if (timestampAt === -1 || powerAt === -1) {
    throw new Error(
      `${source}: the header needs timestamp and power.draw columns, got "${header}"`,
    );
  }
  const readings: RecordedReading[] = [];
  const devices = new Map<number, NvmlDeviceInfo>();
  let skipped = 0;
  for (const line of lines.slice(1)) {
    const fields = line.split(",").map((field) => field.trim());
    if (fields[timestampAt] === "timestamp") continue;
    const time = parseTimestamp(fields[timestampAt] ?? "");
    const index = indexAt === -1 ? 0 : Number(fields[indexAt]);
    if (time === null || !Number.isInteger(index)) {
      skipped += 1;
      continue;
    }
    if (!devices.has(index)) {
      devices.set(index, {
        index,
        name: nameAt === -1 ? `GPU ${index}` : (fields[nameAt] ?? `GPU ${index}`),
        uuid: uuidAt === -1 ? null : (fields[uuidAt] ?? null),
      });
    }
    readings.push({
      t_ms: time,
      index,
      power_w: parseNumber(fields[powerAt]),
      temperature_c: temperatureAt === -1 ? null : parseNumber(fields[temperatureAt]),
    });
  }
  // Rows of one poll carry slightly different timestamps per GPU: the earliest is time 0.
  const origin = readings.reduce((min, reading) => Math.min(min, reading.t_ms), Infinity);
  for (const reading of readings) reading.t_ms -= origin;
  readings.sort((a, b) => a.t_ms - b.t_ms);
  return {
    source,
    devices: [...devices.values()].sort((a, b) => a.index - b.index),
    readings,
    skipped_rows: skipped,
  };
}

export interface ReplayOptions {
  /** Current time in ms on the recording's time axis (the sampler's clock, shifted). */
  clock: () => number;
  /**
   * A device whose latest reading is older than this is treated as unreadable at that moment
   * (the recording has a hole there), so the read rejects like a failing live read. Defaults
   * to 2.5 × the recording's median interval.
   */
  staleAfterMs?: number;
}

function medianInterval(readings: readonly RecordedReading[], index: number): number {
  const times = readings.filter((r) => r.index === index).map((r) => r.t_ms);
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  if (gaps.length === 0) return 1000;
  gaps.sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)]!;
}

/** An NvmlBackend answering each read with the reading that was current at `clock()`. */
export function replayNvmlBackend(recording: NvmlRecording, options: ReplayOptions): NvmlBackend {
  const byDevice = new Map<number, RecordedReading[]>();
  for (const reading of recording.readings) {
    const list = byDevice.get(reading.index) ?? [];
    list.push(reading);
    byDevice.set(reading.index, list);
  }
  for (const list of byDevice.values()) list.sort((a, b) => a.t_ms - b.t_ms);
  const staleAfter = new Map<number, number>();
  for (const index of byDevice.keys()) {
    staleAfter.set(index, options.staleAfterMs ?? 2.5 * medianInterval(recording.readings, index));
  }
  let closed = false;
  return {
    description: `replay of ${recording.source}`,
    devices: () => recording.devices,
    async read(index: number): Promise<NvmlReading> {
      if (closed) throw new Error("replay backend is closed");
      const list = byDevice.get(index);
      if (!list) throw new Error(`no recorded readings for GPU ${index}`);
      const now = options.clock();
      // Latest reading at or before now (binary search: recordings can be long).
      let lo = 0;
      let hi = list.length - 1;
      let found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (list[mid]!.t_ms <= now) {
          found = mid;
          lo = mid + 1;
        } else {
          hi = mid - 1;
        }
      }
      const reading = list[found];
      if (!reading || now - reading.t_ms > staleAfter.get(index)!) {
        throw new Error(`GPU ${index}: no recorded reading near t=${now} ms`);
      }
      return {
        energy_mj: reading.energy_mj ?? null,
        power_w: reading.power_w,
        temperature_c: reading.temperature_c,
        memory_used_bytes: reading.memory_used_bytes ?? null,
      };
    },
    close() {
      closed = true;
    },
  };
}
