import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { TIMESERIES_CSV_HEADER, writeTimeseriesCsv } from "./timeseries-csv.js";

describe("writeTimeseriesCsv", () => {
  it("writes one row per sample with an empty temperature where unknown", async () => {
    const dir = await tempDir();
    const path = join(dir, "timeseries.csv");
    await writeTimeseriesCsv(path, [
      { t_ms: 100, device: "gpu0", power_w: 251.5, temperature_c: 61 },
      { t_ms: 100.25, device: "package-0", power_w: 35.1234 },
    ]);
    expect(await readFile(path, "utf8")).toBe(
      `${TIMESERIES_CSV_HEADER}\n100.0,gpu0,251.500,61\n100.3,package-0,35.123,\n`,
    );
  });

  it("replaces an existing file whole and leaves no temp file behind", async () => {
    const dir = await tempDir();
    const path = join(dir, "timeseries.csv");
    await writeFile(path, "old content that is much longer than the new one\n".repeat(100));
    await writeTimeseriesCsv(path, [{ t_ms: 0, device: "cpu_estimate", power_w: 10 }]);
    expect(await readFile(path, "utf8")).toBe(
      `${TIMESERIES_CSV_HEADER}\n0.0,cpu_estimate,10.000,\n`,
    );
    expect(await readdir(dir)).toEqual(["timeseries.csv"]);
  });

  it("quotes device names that contain a comma", async () => {
    const dir = await tempDir();
    const path = join(dir, "t.csv");
    await writeTimeseriesCsv(path, [{ t_ms: 1, device: 'odd,"name"', power_w: 1 }]);
    expect((await readFile(path, "utf8")).split("\n")[1]).toBe('1.0,"odd,""name""",1.000,');
  });

  it("fails without touching anything when the directory does not exist", async () => {
    const dir = await tempDir();
    await expect(
      writeTimeseriesCsv(join(dir, "missing", "t.csv"), [{ t_ms: 0, device: "x", power_w: 1 }]),
    ).rejects.toThrow(/ENOENT/);
    expect(await readdir(dir)).toEqual([]);
  });
});
