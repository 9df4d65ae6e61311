import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const DEFAULT_HWMON_ROOT = "/sys/class/hwmon";

/** hwmon drivers that report the CPU package (Intel coretemp, AMD k10temp/zenpower, ARM SoCs). */
const CPU_DRIVERS = ["coretemp", "k10temp", "zenpower", "cpu_thermal"];
/** Preferred sensor labels: the package as a whole rather than one core. */
const PACKAGE_LABELS = [/^Package id \d+$/, /^Tctl$/, /^Tdie$/];

export interface CpuTemperatureReader {
  /** Where the reading comes from, e.g. "coretemp Package id 0". */
  readonly description: string;
  /** °C, or null if the sensor cannot be read right now. */
  read(): number | null;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}

/**
 * The CPU package temperature sensor under a hwmon root, or null if there is none (VMs, most
 * containers). Read only at the window's edges, for the thermal-drift warning on CPU runs.
 */
export function findCpuTemperature(root: string = DEFAULT_HWMON_ROOT): CpuTemperatureReader | null {
  let entries: string[];
  try {
    entries = readdirSync(root).sort();
  } catch {
    return null;
  }
  for (const entry of entries) {
    const dir = join(root, entry);
    const driver = readText(join(dir, "name"));
    if (!driver || !CPU_DRIVERS.includes(driver)) continue;
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch {
      continue;
    }
    const inputs = files.filter((file) => /^temp\d+_input$/.test(file)).sort();
    if (inputs.length === 0) continue;
    const labelled = inputs.find((input) => {
      const label = readText(join(dir, input.replace("_input", "_label")));
      return label !== null && PACKAGE_LABELS.some((pattern) => pattern.test(label));
    });
    const input = labelled ?? inputs[0]!;
    const label = readText(join(dir, input.replace("_input", "_label"))) ?? input;
    const path = join(dir, input);
    return {
      description: `${driver} ${label}`,
      read() {
        const text = readText(path);
        const milli = text === null ? Number.NaN : Number(text);
        return Number.isFinite(milli) ? milli / 1000 : null;
      },
    };
  }
  return null;
}

/** The `temperatures` entry of a CPU sampler: start and end, or nothing without a sensor. */
export function cpuTemperatures(
  reader: CpuTemperatureReader | null,
  startC: number | null,
): Array<{ device: string; start_c: number | null; end_c: number | null }> {
  if (!reader) return [];
  return [{ device: "cpu", start_c: startC, end_c: reader.read() }];
}
