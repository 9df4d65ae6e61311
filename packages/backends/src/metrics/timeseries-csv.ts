import { writeFileAtomic } from "@llem/manifest";
import type { PowerSample } from "../energy/types.js";

export const TIMESERIES_CSV_HEADER = "t_ms,device,power_w,temperature_c";

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The CSV text: one row per sample, ms since the window start, empty temperature if unknown. */
export function timeseriesCsv(samples: readonly PowerSample[]): string {
  const rows = [TIMESERIES_CSV_HEADER];
  for (const sample of samples) {
    rows.push(
      [
        sample.t_ms.toFixed(1),
        csvField(sample.device),
        sample.power_w.toFixed(3),
        sample.temperature_c === undefined ? "" : String(sample.temperature_c),
      ].join(","),
    );
  }
  return `${rows.join("\n")}\n`;
}

/** Writes `timeseries.csv` atomically (temp file, fsync, rename, fsync of the directory). */
export async function writeTimeseriesCsv(
  path: string,
  samples: readonly PowerSample[],
): Promise<void> {
  await writeFileAtomic(path, timeseriesCsv(samples));
}
