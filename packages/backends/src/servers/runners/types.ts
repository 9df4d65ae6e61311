import type { Runner } from "@llem/schema";
import type { GpuAssignment } from "../../engines/types.js";

/** Where the server listens, as its own argv says (inside its container, if it has one). */
export interface ListenAddress {
  host: string;
  port: number;
}

/** What a runner needs to start one server. */
export interface LaunchRequest {
  runner: Runner;
  /** The server executable: a resolved path (local), or the command inside the image. */
  binary: string;
  /** Arguments after the executable: the engine's fixed ones, its mapped knobs, extra_args. */
  args: readonly string[];
  /** The port on 127.0.0.1 that llem sends requests to. */
  hostPort: number;
  image: string | null;
  /** The container runtime's executable (podman, docker, apptainer), found on PATH. */
  runtimeBinary: string;
  runtimeArgs: readonly string[];
  /** Names of variables passed into a container (values never go on argv). */
  envNames: readonly string[];
  /** Host paths mounted read-only at the same path in a container. */
  mounts: readonly string[];
  /** The container's name (podman, docker): unique, recorded before it starts. */
  containerName: string;
  gpus?: GpuAssignment;
  /** Shared memory with the host (`--ipc host`): multi-process GPU servers need it. */
  ipcHost: boolean;
  /** The environment llem runs in. */
  baseEnv: NodeJS.ProcessEnv;
}

/** The process llem spawns for a server, and how to stop what it started. */
export interface LaunchPlan {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** A container the runtime keeps running apart from `command` (podman, docker). */
  container: { runtime: "podman" | "docker"; binary: string; name: string } | null;
}
