import { LlemError } from "@llem/schema";
import type { LaunchPlan, LaunchRequest } from "./types.js";

/**
 * `apptainer exec` of one server. Apptainer shares the host's network and runs as the calling
 * user in llem's process group, so the server listens on 127.0.0.1 and stops like a local one.
 * `--cleanenv` keeps the host environment out; the allowed names go in as APPTAINERENV_<NAME>.
 */
export function apptainerPlan(request: LaunchRequest): LaunchPlan {
  if (!request.image) {
    throw new LlemError("CONFIG_INVALID", "runner apptainer needs an image (a .sif file or URI)", {
      details: { field: "image" },
    });
  }
  const args = ["exec", "--cleanenv"];
  const env: NodeJS.ProcessEnv = { ...request.baseEnv };
  for (const name of request.envNames) {
    const value = request.baseEnv[name];
    if (value !== undefined) env[`APPTAINERENV_${name}`] = value;
  }
  if (request.gpus && request.gpus.devices.length > 0) {
    args.push("--nv");
    env.APPTAINERENV_CUDA_VISIBLE_DEVICES = request.gpus.cudaVisibleDevices;
  }
  for (const path of request.mounts) args.push("--bind", `${path}:${path}:ro`);
  args.push(...request.runtimeArgs, request.image, request.binary, ...request.args);
  return { command: request.runtimeBinary, args, env, container: null };
}
