import { spawnSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import packageJson from "../package.json" with { type: "json" };
import { installCommand, isMissingPackage, missingPackageMessage } from "./optional-dependency.js";

/** The error a real `import(name)` throws in `dir` (a child process, so no test loader is involved). */
function importErrorIn(dir: string, name: string): { code: string; message: string } {
  const child = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "--eval",
      `try { await import(${JSON.stringify(name)}); console.log("null"); } catch (error) { console.log(JSON.stringify({ code: error.code, message: error.message })); }`,
    ],
    { cwd: dir, encoding: "utf8" },
  );
  expect(child.status, child.stderr).toBe(0);
  return JSON.parse(child.stdout);
}

describe("optional dependencies (koffi, node-llama-cpp)", { timeout: 30_000 }, () => {
  it("tells a package that is not installed from one that is installed and fails to load", async () => {
    const dir = await tempDir();
    const absent = importErrorIn(dir, "node-llama-cpp");
    expect(absent.code).toBe("ERR_MODULE_NOT_FOUND");
    expect(isMissingPackage(absent, "node-llama-cpp")).toBe(true);
    expect(isMissingPackage(absent, "koffi")).toBe(false);

    // Installed, but a dependency of its own is missing: not "node-llama-cpp is not installed".
    const packageDir = join(dir, "node_modules", "node-llama-cpp");
    await mkdir(packageDir, { recursive: true });
    await writeFile(
      join(packageDir, "package.json"),
      JSON.stringify({ name: "node-llama-cpp", type: "module", exports: "./index.js" }),
    );
    await writeFile(join(packageDir, "index.js"), 'import "lifecycle-utils";\n');
    const broken = importErrorIn(dir, "node-llama-cpp");
    expect(broken.code).toBe("ERR_MODULE_NOT_FOUND");
    expect(isMissingPackage(broken, "node-llama-cpp")).toBe(false);
    expect(
      isMissingPackage(new Error("Cannot find package 'node-llama-cpp'"), "node-llama-cpp"),
    ).toBe(
      false, // no ERR_MODULE_NOT_FOUND code: some other failure that happens to name it
    );
  });

  it("names the package, what needs it and the install command with the released range", () => {
    expect(packageJson.optionalDependencies["node-llama-cpp"]).toBe("3.22.1");
    expect(installCommand("node-llama-cpp")).toBe("npm install node-llama-cpp@3.22.1");
    expect(installCommand("koffi")).toBe(
      `npm install koffi@${packageJson.optionalDependencies.koffi}`,
    );
    expect(missingPackageMessage("koffi", "NVML (GPU energy)")).toBe(
      `NVML (GPU energy) needs koffi, which is not installed (an optional dependency of @llem/backends, left out by --omit=optional or --no-optional): install it with \`npm install koffi@${packageJson.optionalDependencies.koffi}\``,
    );
  });
});
