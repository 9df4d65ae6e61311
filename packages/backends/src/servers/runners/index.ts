import type { Runner } from "@llem/schema";
import { apptainerPlan } from "./apptainer.js";
import { CONTAINER_PORT, containerPlan } from "./container.js";
import type { LaunchPlan, LaunchRequest, ListenAddress } from "./types.js";

export type { LaunchPlan, LaunchRequest, ListenAddress } from "./types.js";

/**
 * Where a server must listen so llem reaches it on 127.0.0.1:hostPort: on this machine (local,
 * and apptainer, which shares the host's network) on 127.0.0.1 itself; in a podman or docker
 * container on all of the container's interfaces at a fixed port, which the runtime publishes
 * on the host's 127.0.0.1 only.
 */
export function listenAddress(runner: Runner, hostPort: number): ListenAddress {
  return runner === "podman" || runner === "docker"
    ? { host: "0.0.0.0", port: CONTAINER_PORT }
    : { host: "127.0.0.1", port: hostPort };
}

/**
 * The command line that starts a server under its runner — an argument vector, never a shell
 * string, so every argument reaches the server exactly as written:
 *
 *   local      <binary> <args…>                         CUDA_VISIBLE_DEVICES from the GPUs
 *   podman     podman run --rm --name N -p 127.0.0.1:H:8000 --entrypoint <binary>
 *              [-v P:P:ro]… [-e NAME]… [--device nvidia.com/gpu=ID]… [--ipc host] <runtime_args…>
 *              <image> <args…>
 *   docker     as podman, with --gpus "device=ID,…" for the GPUs
 *   apptainer  apptainer exec --cleanenv [--nv] [--bind P:P:ro]… <runtime_args…> <image> <binary> <args…>
 *              (environment through APPTAINERENV_*, so no value goes on argv)
 */
export function launchPlan(request: LaunchRequest): LaunchPlan {
  switch (request.runner) {
    case "local":
      return {
        command: request.binary,
        args: [...request.args],
        env: request.gpus
          ? { ...request.baseEnv, CUDA_VISIBLE_DEVICES: request.gpus.cudaVisibleDevices }
          : { ...request.baseEnv },
        container: null,
      };
    case "podman":
    case "docker":
      return containerPlan(request, request.runner);
    case "apptainer":
      return apptainerPlan(request);
  }
}
