import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { arch, platform, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { LlemError } from "@llem/schema";

/**
 * node-llama-cpp's CUDA and Vulkan binaries (~590 MB for linux-x64) are optional dependencies the
 * workspace tells pnpm to skip (`ignoredOptionalDependencies` in pnpm-workspace.yaml), so a
 * machine without a GPU never downloads them. A machine with one gets them here instead: fetched
 * with npm's own client (`npm pack`, the registry and auth npm is configured with), checked
 * against the integrity the lockfile had for them, unpacked once per machine into
 * `$LLEM_CACHE_DIR/node-llama-cpp-binaries/`, and linked next to node-llama-cpp, where its
 * `import("@node-llama-cpp/linux-x64-cuda")` finds them.
 *
 * The install does this by itself when it sees a GPU (an NVIDIA driver: CUDA; a DRM render node:
 * Vulkan); `LLEM_GPU_BINARIES=cuda` (or `vulkan`, `cuda,vulkan`, `none`) says which explicitly,
 * e.g. on a cluster's login node for GPU jobs: `LLEM_GPU_BINARIES=cuda npx -y pnpm@10 install`.
 */

export type GpuKind = "cuda" | "vulkan";

const PACKAGES: Record<string, Record<GpuKind, string[]>> = {
  "linux-x64": {
    cuda: ["@node-llama-cpp/linux-x64-cuda", "@node-llama-cpp/linux-x64-cuda-ext"],
    vulkan: ["@node-llama-cpp/linux-x64-vulkan"],
  },
  "win32-x64": {
    cuda: ["@node-llama-cpp/win-x64-cuda", "@node-llama-cpp/win-x64-cuda-ext"],
    vulkan: ["@node-llama-cpp/win-x64-vulkan"],
  },
};

/** The integrity pnpm-lock.yaml recorded for them before they were left out of it. */
const PINNED_INTEGRITY: Record<string, string> = {
  "@node-llama-cpp/linux-x64-cuda@3.22.1":
    "sha512-8rQCjyNNLZJUFit+YpjwlC4hwkKgOMIkB2wuycKBf8NU2O3ySKbiWZQ8aw9ku2nUTXjSnUIrE6KB88itduTBuA==",
  "@node-llama-cpp/linux-x64-cuda-ext@3.22.1":
    "sha512-4e5ajkiM2aR2WAdB/N/ACk4weEhHvOAIrzxZPsIX0xDFW5+6hhShuy1/vs88SK9NGdgAco9IyE28eYS0H1efpA==",
  "@node-llama-cpp/linux-x64-vulkan@3.22.1":
    "sha512-bBxqU+JOcBu1nb5Qj2zcMci+JByT1E8EajHvYodyNfVIPkEhXh+/HMwR1/BT7xP08YK0hks+kM8fglER0P8JEg==",
};

/** The packages that hold `kind`'s binaries on this platform (empty where there are none). */
export function gpuBinaryPackages(kind: GpuKind, target = `${platform()}-${arch()}`): string[] {
  return PACKAGES[target]?.[kind] ?? [];
}

export interface GpuProbe {
  /** Where an NVIDIA driver shows itself. */
  nvidiaDriverFile?: string;
  /** Where DRM render nodes (any GPU with a kernel driver) appear. */
  driDir?: string;
}

/**
 * Which GPU binaries this machine wants (`LLEM_GPU_BINARIES`, else what is present): `auto` means
 * CUDA where an NVIDIA driver is loaded, Vulkan where a DRM render node exists.
 */
export function wantedGpuBinaries(
  env: NodeJS.ProcessEnv = process.env,
  probe: GpuProbe = {},
): { kinds: GpuKind[]; reason: string } {
  const setting = (env.LLEM_GPU_BINARIES ?? "auto").trim().toLowerCase() || "auto";
  if (setting !== "auto") {
    if (setting === "none" || setting === "0")
      return { kinds: [], reason: "LLEM_GPU_BINARIES=none" };
    const kinds = setting.split(",").map((part) => part.trim());
    const unknown = kinds.filter((kind) => kind !== "cuda" && kind !== "vulkan");
    if (unknown.length > 0)
      throw new LlemError(
        "CONFIG_INVALID",
        `LLEM_GPU_BINARIES is "${env.LLEM_GPU_BINARIES}"; expected auto, none, cuda, vulkan or cuda,vulkan`,
        { details: { field: "LLEM_GPU_BINARIES", value: env.LLEM_GPU_BINARIES } },
      );
    return { kinds: kinds as GpuKind[], reason: `LLEM_GPU_BINARIES=${setting}` };
  }
  const nvidia = existsSync(probe.nvidiaDriverFile ?? "/proc/driver/nvidia/version");
  const driDir = probe.driDir ?? "/dev/dri";
  const renderNode =
    existsSync(driDir) && readdirSync(driDir).some((name) => name.startsWith("renderD"));
  const kinds: GpuKind[] = [
    ...(nvidia ? ["cuda" as const] : []),
    ...(renderNode ? ["vulkan" as const] : []),
  ];
  const found = [
    nvidia ? "an NVIDIA driver" : null,
    renderNode ? "a GPU render node" : null,
  ].filter(Boolean);
  return {
    kinds,
    reason:
      found.length > 0
        ? `found ${found.join(" and ")}`
        : "no GPU found: no NVIDIA driver, no render node",
  };
}

export function gpuBinariesDir(cacheDir: string): string {
  return join(cacheDir, "node-llama-cpp-binaries");
}

function integrityOf(file: string): string {
  return `sha512-${createHash("sha512").update(readFileSync(file)).digest("base64")}`;
}

/** Downloads `spec`'s tarball into `dir` with npm's client and returns its path. */
export function npmPack(spec: string, dir: string): string {
  const outcome = spawnSync(
    "npm",
    ["pack", spec, "--pack-destination", dir, "--json", "--silent"],
    {
      encoding: "utf8",
      shell: platform() === "win32",
    },
  );
  if (outcome.status !== 0)
    throw new Error(`npm pack ${spec} failed: ${(outcome.stderr || outcome.stdout || "").trim()}`);
  const [packed] = JSON.parse(outcome.stdout) as Array<{ filename: string }>;
  if (!packed) throw new Error(`npm pack ${spec} printed no file`);
  return join(dir, packed.filename);
}

export interface InstallGpuPackageOptions {
  nodeLlamaCppDir: string;
  cacheDir: string;
  name: string;
  version: string;
  /** Fetches the tarball of `name@version` into a directory (default: `npm pack`). */
  pack?: (spec: string, dir: string) => string;
  /** Integrity the tarball must have (default: the pinned one, where there is one). */
  integrity?: string | null;
}

/**
 * One binary package, from the cache or fetched now, linked next to node-llama-cpp. Returns
 * whether it had to be fetched.
 */
export function installGpuPackage(options: InstallGpuPackageOptions): {
  fetched: boolean;
  dir: string;
} {
  const { name, version } = options;
  const spec = `${name}@${version}`;
  const entry = join(gpuBinariesDir(options.cacheDir), `${name.replace("/", "+")}@${version}`);
  let fetched = false;
  if (!existsSync(join(entry, "package.json"))) {
    mkdirSync(gpuBinariesDir(options.cacheDir), { recursive: true });
    const work = mkdtempSync(join(tmpdir(), "llem-gpu-binaries-"));
    try {
      const tarball = (options.pack ?? npmPack)(spec, work);
      const expected = options.integrity === undefined ? PINNED_INTEGRITY[spec] : options.integrity;
      const actual = integrityOf(tarball);
      if (expected && actual !== expected)
        throw new Error(`${spec}: the tarball's integrity ${actual} is not the pinned ${expected}`);
      const unpacked = join(work, "unpacked");
      mkdirSync(unpacked);
      const tar = spawnSync("tar", ["-xzf", tarball, "-C", unpacked], { encoding: "utf8" });
      if (tar.status !== 0) throw new Error(`unpacking ${tarball} failed: ${tar.stderr}`);
      const temp = `${entry}.partial-${process.pid}`;
      rmSync(temp, { recursive: true, force: true });
      renameSync(join(unpacked, "package"), temp);
      rmSync(entry, { recursive: true, force: true });
      renameSync(temp, entry);
      fetched = true;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  linkBesideNodeLlamaCpp(options.nodeLlamaCppDir, name, entry);
  return { fetched, dir: entry };
}

/**
 * node-llama-cpp imports its binary packages by name, so Node looks for them in the
 * `node_modules` that holds node-llama-cpp itself (pnpm's virtual store, or a flat install).
 * A package that is really installed there is left alone.
 */
function linkBesideNodeLlamaCpp(nodeLlamaCppDir: string, name: string, target: string): void {
  const link = join(dirname(nodeLlamaCppDir), ...name.split("/"));
  let current: string | null = null;
  try {
    const stat = lstatSync(link);
    if (!stat.isSymbolicLink()) return;
    current = readlinkSync(link);
  } catch {
    // absent
  }
  if (current === target) return;
  mkdirSync(dirname(link), { recursive: true });
  rmSync(link, { force: true });
  symlinkSync(target, link, "dir");
}

/** GPU binary packages node-llama-cpp can import from where it is installed. */
export function installedGpuBinaries(nodeLlamaCppDir: string): GpuKind[] {
  const present = (name: string) =>
    existsSync(join(dirname(nodeLlamaCppDir), ...name.split("/"), "package.json"));
  return (["cuda", "vulkan"] as const).filter((kind) => {
    const [main] = gpuBinaryPackages(kind);
    return main !== undefined && present(main);
  });
}
