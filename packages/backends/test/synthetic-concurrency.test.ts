import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { readGgufHeader } from "../src/models/gguf-reader.js";
import { syntheticParameterCount } from "../src/models/synthetic.js";

const distEntry = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const MODEL = "synthetic:layers=4,width=512,vocab=2048,dtype=f32";

function writer(cacheDir: string): Promise<number | null> {
  const script = `import(${JSON.stringify(distEntry)}).then((m) => m.ensureSyntheticModel(${JSON.stringify(MODEL)}, ${JSON.stringify(cacheDir)}))`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: "inherit",
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve(code));
  });
}

describe("synthetic model cache under concurrent writers (real processes, built dist/)", () => {
  it.skipIf(!existsSync(distEntry))(
    "never exposes a torn file and ends with one valid model",
    { timeout: 60_000 },
    async () => {
      const cacheDir = await tempDir();
      const modelsDir = join(cacheDir, "models");
      const writers = [writer(cacheDir), writer(cacheDir), writer(cacheDir)];
      let done = false;
      const finished = Promise.all(writers).finally(() => {
        done = true;
      });
      // While the writers race, any file under its final name must already be complete.
      while (!done) {
        const finals = existsSync(modelsDir)
          ? readdirSync(modelsDir).filter((name) => name.endsWith(".gguf"))
          : [];
        for (const name of finals) {
          expect(readGgufHeader(join(modelsDir, name)).parameterCount).toBeGreaterThan(0);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(await finished).toEqual([0, 0, 0]);
      const names = readdirSync(modelsDir);
      expect(names.filter((name) => name.endsWith(".tmp"))).toEqual([]);
      expect(names).toHaveLength(1);
      const header = readGgufHeader(join(modelsDir, names[0] as string));
      expect(header.parameterCount).toBe(
        syntheticParameterCount({
          layers: 4,
          width: 512,
          heads: 8,
          kvHeads: 8,
          ff: 1376,
          vocab: 2048,
          context: 4096,
          dtype: "f32",
          seed: 0,
        }),
      );
    },
  );
});
