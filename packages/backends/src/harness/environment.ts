import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { arch, cpus, hostname, release, totalmem, type } from "node:os";
import { promisify } from "node:util";
import { llemVersion } from "./llem-version.js";

const execFileAsync = promisify(execFile);

export interface EnvironmentSnapshot {
  llem_version: string;
  node_version: string;
  os: string;
  arch: string;
  cpu_model: string;
  cpu_cores: number;
  total_memory_bytes: number;
  engine_versions: Record<string, string>;
  gpus: Array<{
    index: number;
    name: string;
    driver_version: string | null;
    memory_total_mib?: number;
  }>;
  hostname?: string;
  /** What this process's CUDA sees: the experiment's GPUs as placed (null when unset). */
  cuda_visible_devices?: string | null;
}

function osDescription(): string {
  try {
    const osRelease = readFileSync("/etc/os-release", "utf8");
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1];
    if (pretty) return `${pretty} (${type()} ${release()})`;
  } catch {
    // not Linux, or no os-release: the kernel description is enough
  }
  return `${type()} ${release()}`;
}

/** GPUs as nvidia-smi reports them; none when nvidia-smi is absent (the common CPU-only case). */
async function nvidiaGpus(): Promise<EnvironmentSnapshot["gpus"]> {
  try {
    const { stdout } = await execFileAsync(
      "nvidia-smi",
      ["--query-gpu=index,name,driver_version,memory.total", "--format=csv,noheader,nounits"],
      { timeout: 5000 },
    );
    return stdout
      .trim()
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => {
        const [index, name, driver, memory] = line.split(",").map((field) => field.trim());
        return {
          index: Number(index),
          name: name ?? "unknown",
          driver_version: driver || null,
          memory_total_mib: Number(memory) || undefined,
        };
      });
  } catch {
    return [];
  }
}

/**
 * The machine and software an experiment runs on; `engineVersions` are what the engine that ran
 * reports of itself (`Engine.versions()`).
 */
export async function describeEnvironment(
  engineVersions: Record<string, string> = {},
): Promise<EnvironmentSnapshot> {
  const processors = cpus();
  return {
    llem_version: llemVersion(),
    node_version: process.version,
    os: osDescription(),
    arch: arch(),
    cpu_model: processors[0]?.model.trim() ?? "unknown",
    cpu_cores: processors.length,
    total_memory_bytes: totalmem(),
    engine_versions: { ...engineVersions },
    gpus: await nvidiaGpus(),
    hostname: hostname(),
    cuda_visible_devices: process.env.CUDA_VISIBLE_DEVICES ?? null,
  };
}
