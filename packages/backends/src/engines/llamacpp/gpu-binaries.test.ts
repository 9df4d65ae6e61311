import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";
import { runProcess, tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import {
  gpuBinariesDir,
  installedGpuBinaries,
  installGpuPackage,
  npmPack,
  wantedGpuBinaries,
} from "./gpu-binaries.js";

describe("wantedGpuBinaries", () => {
  it("follows LLEM_GPU_BINARIES, else fetches CUDA's where an NVIDIA driver is and Vulkan's where a render node is", async () => {
    const root = await tempDir();
    const nvidia = join(root, "nvidia-version");
    const dri = join(root, "dri");
    const nothing = { nvidiaDriverFile: join(root, "absent"), driDir: join(root, "absent-dri") };
    expect(wantedGpuBinaries({}, nothing).kinds).toEqual([]);
    expect(wantedGpuBinaries({}, nothing).reason).toMatch(/no GPU found/);
    writeFileSync(nvidia, "NVRM version: 550.54\n");
    expect(wantedGpuBinaries({}, { ...nothing, nvidiaDriverFile: nvidia }).kinds).toEqual(["cuda"]);
    mkdirSync(dri);
    writeFileSync(join(dri, "card0"), "");
    expect(wantedGpuBinaries({}, { ...nothing, driDir: dri }).kinds).toEqual([]);
    writeFileSync(join(dri, "renderD128"), "");
    expect(wantedGpuBinaries({}, { nvidiaDriverFile: nvidia, driDir: dri }).kinds).toEqual([
      "cuda",
      "vulkan",
    ]);
    // Explicit settings win over what is found (a login node installs for GPU jobs).
    expect(wantedGpuBinaries({ LLEM_GPU_BINARIES: "cuda" }, nothing).kinds).toEqual(["cuda"]);
    expect(
      wantedGpuBinaries({ LLEM_GPU_BINARIES: "none" }, { nvidiaDriverFile: nvidia }).kinds,
    ).toEqual([]);
    expect(() => wantedGpuBinaries({ LLEM_GPU_BINARIES: "rocm" })).toThrow(
      expect.objectContaining({
        code: "CONFIG_INVALID",
        message: expect.stringMatching(/"rocm"; expected auto, none, cuda, vulkan/),
      }),
    );
  });
});

/** A package shaped like @node-llama-cpp/linux-x64-cuda (getBinsDir() from its own folder), packed by the real npm. */
async function packedBinaryPackage(root: string, name: string, version: string): Promise<string> {
  const source = join(root, "source");
  mkdirSync(join(source, "dist"), { recursive: true });
  mkdirSync(join(source, "bins", "linux-x64-cuda"), { recursive: true });
  writeFileSync(
    join(source, "package.json"),
    JSON.stringify({
      name,
      version,
      type: "module",
      main: "dist/index.js",
      files: ["dist", "bins"],
    }),
  );
  writeFileSync(join(source, "bins", "linux-x64-cuda", "llama-addon.node"), "cuda binary");
  writeFileSync(
    join(source, "dist", "index.js"),
    `import path from "node:path"; import { fileURLToPath } from "node:url";
const here = path.dirname(fileURLToPath(import.meta.url));
export function getBinsDir() { return { binsDir: path.join(here, "..", "bins"), packageVersion: ${JSON.stringify(version)} }; }
`,
  );
  const out = join(root, "packed");
  mkdirSync(out);
  return npmPack(source, out);
}

describe("installGpuPackage", () => {
  it("unpacks a binary package once into the cache and links it where node-llama-cpp imports it from", {
    timeout: 60_000,
  }, async () => {
    const root = await tempDir();
    const name = "@node-llama-cpp/linux-x64-cuda";
    const tarball = await packedBinaryPackage(root, name, "3.22.1");
    const integrity = `sha512-${(await import("node:crypto")).createHash("sha512").update(readFileSync(tarball)).digest("base64")}`;
    const nodeLlamaCppDir = join(root, "project", "node_modules", "node-llama-cpp");
    mkdirSync(nodeLlamaCppDir, { recursive: true });
    writeFileSync(
      join(nodeLlamaCppDir, "package.json"),
      JSON.stringify({ name: "node-llama-cpp", version: "3.22.1", type: "module" }),
    );
    // node-llama-cpp's own lookup: import the package by name from inside node-llama-cpp.
    writeFileSync(
      join(nodeLlamaCppDir, "probe.js"),
      `const m = await import(${JSON.stringify(name)}); console.log(m.getBinsDir().binsDir);`,
    );
    const cacheDir = join(root, "cache");
    const packs: string[] = [];
    const pack = (spec: string, dir: string) => {
      packs.push(spec);
      const copy = join(dir, basename(tarball));
      copyFileSync(tarball, copy);
      return copy;
    };
    expect(installedGpuBinaries(nodeLlamaCppDir)).toEqual([]);
    const first = installGpuPackage({
      nodeLlamaCppDir,
      cacheDir,
      name,
      version: "3.22.1",
      pack,
      integrity,
    });
    expect(first.fetched).toBe(true);
    expect(packs).toEqual([`${name}@3.22.1`]);
    const probe = await runProcess(process.execPath, [join(nodeLlamaCppDir, "probe.js")]);
    expect(probe.stderr).toBe("");
    expect(probe.stdout.trim()).toBe(join(realpathSync(first.dir), "bins"));
    expect(installedGpuBinaries(nodeLlamaCppDir)).toEqual(["cuda"]);

    // A second clone on the machine links the same files without fetching.
    const otherClone = join(root, "other", "node_modules", "node-llama-cpp");
    mkdirSync(otherClone, { recursive: true });
    const second = installGpuPackage({
      nodeLlamaCppDir: otherClone,
      cacheDir,
      name,
      version: "3.22.1",
      pack,
      integrity,
    });
    expect(second).toEqual({ fetched: false, dir: first.dir });
    expect(packs).toHaveLength(1);
  });

  it("refuses a tarball whose integrity is not the pinned one, and caches nothing", {
    timeout: 60_000,
  }, async () => {
    const root = await tempDir();
    const name = "@node-llama-cpp/linux-x64-cuda";
    const tarball = await packedBinaryPackage(root, name, "3.22.1");
    const nodeLlamaCppDir = join(root, "project", "node_modules", "node-llama-cpp");
    mkdirSync(nodeLlamaCppDir, { recursive: true });
    const cacheDir = join(root, "cache");
    const pack = (_spec: string, dir: string) => {
      const copy = join(dir, basename(tarball));
      copyFileSync(tarball, copy);
      return copy;
    };
    // No integrity argument: the pinned one for 3.22.1 applies, which this stand-in cannot match.
    expect(() =>
      installGpuPackage({ nodeLlamaCppDir, cacheDir, name, version: "3.22.1", pack }),
    ).toThrow(/is not the pinned sha512-8rQC/);
    expect(
      existsSync(gpuBinariesDir(cacheDir)) ? installedGpuBinaries(nodeLlamaCppDir) : [],
    ).toEqual([]);
    expect(
      existsSync(join(gpuBinariesDir(cacheDir), "@node-llama-cpp+linux-x64-cuda@3.22.1")),
    ).toBe(false);
  });
});
