import { LlemError } from "@llem/schema";
import type { LaunchPlan, LaunchRequest } from "./types.js";

/** The port a server listens on inside a podman or docker container. */
export const CONTAINER_PORT = 8000;

/** `podman run` / `docker run` of one server; the runtimes differ only in how GPUs are named. */
export function containerPlan(request: LaunchRequest, runtime: "podman" | "docker"): LaunchPlan {
  if (!request.image) {
    throw new LlemError("CONFIG_INVALID", `runner ${runtime} needs an image`, {
      details: { field: "image" },
    });
  }
  const args = [
    "run",
    "--rm",
    "--name",
    request.containerName,
    "--publish",
    `127.0.0.1:${request.hostPort}:${CONTAINER_PORT}`,
    "--entrypoint",
    request.binary,
  ];
  for (const path of request.mounts) args.push("--volume", `${path}:${path}:ro`);
  // `-e NAME` without a value: the runtime copies the value from its own environment.
  for (const name of request.envNames) args.push("--env", name);
  if (request.gpus && request.gpus.devices.length > 0) {
    if (runtime === "podman") {
      for (const device of request.gpus.devices) args.push("--device", `nvidia.com/gpu=${device}`);
    } else {
      // docker's --gpus value is CSV: a list of devices needs its own quotes.
      const list = request.gpus.devices.join(",");
      args.push("--gpus", request.gpus.devices.length > 1 ? `"device=${list}"` : `device=${list}`);
    }
  }
  if (request.ipcHost) args.push("--ipc", "host");
  args.push(...request.runtimeArgs, request.image, ...request.args);
  return {
    command: request.runtimeBinary,
    args,
    env: { ...request.baseEnv },
    container: { runtime, binary: request.runtimeBinary, name: request.containerName },
  };
}
