import { describe, expect, it } from "vitest";
import { type LaunchRequest, launchPlan, listenAddress } from "./index.js";

const base: LaunchRequest = {
  runner: "local",
  binary: "/opt/vllm/bin/vllm",
  args: ["serve", "org/model", "--port", "8000", "; rm -rf / $(id)"],
  hostPort: 41234,
  image: null,
  runtimeBinary: "",
  runtimeArgs: [],
  envNames: [],
  mounts: [],
  containerName: "llem-0001_c0_model-vllm_abcd1234-a1b2c3",
  ipcHost: true,
  baseEnv: { PATH: "/usr/bin", HF_TOKEN: "secret" },
};
const gpus = { devices: ["GPU-aaaa", "GPU-bbbb"], cudaVisibleDevices: "0,1" };

describe("listenAddress", () => {
  it("is 127.0.0.1 on the chosen port for local and apptainer, 0.0.0.0:8000 in a container", () => {
    expect(listenAddress("local", 41234)).toEqual({ host: "127.0.0.1", port: 41234 });
    expect(listenAddress("apptainer", 41234)).toEqual({ host: "127.0.0.1", port: 41234 });
    expect(listenAddress("podman", 41234)).toEqual({ host: "0.0.0.0", port: 8000 });
    expect(listenAddress("docker", 41234)).toEqual({ host: "0.0.0.0", port: 8000 });
  });
});

describe("launchPlan", () => {
  it("local: the binary and its arguments as a vector; CUDA_VISIBLE_DEVICES from the GPUs only", () => {
    const plan = launchPlan(base);
    expect(plan.command).toBe("/opt/vllm/bin/vllm");
    expect(plan.args).toEqual(base.args);
    expect(plan.env.CUDA_VISIBLE_DEVICES).toBeUndefined();
    expect(plan.container).toBeNull();
    expect(launchPlan({ ...base, gpus }).env.CUDA_VISIBLE_DEVICES).toBe("0,1");
  });

  it("podman: published on 127.0.0.1 only, CDI devices, env by name, model mounted read-only", () => {
    const plan = launchPlan({
      ...base,
      runner: "podman",
      binary: "vllm",
      image: "localhost/vllm:latest",
      runtimeBinary: "/usr/bin/podman",
      runtimeArgs: ["--runtime", "runc"],
      envNames: ["HF_TOKEN"],
      mounts: ["/models/m"],
      gpus,
    });
    expect(plan.command).toBe("/usr/bin/podman");
    expect(plan.args).toEqual([
      "run",
      "--rm",
      "--name",
      base.containerName,
      "--publish",
      "127.0.0.1:41234:8000",
      "--entrypoint",
      "vllm",
      "--volume",
      "/models/m:/models/m:ro",
      "--env",
      "HF_TOKEN",
      "--device",
      "nvidia.com/gpu=GPU-aaaa",
      "--device",
      "nvidia.com/gpu=GPU-bbbb",
      "--ipc",
      "host",
      "--runtime",
      "runc",
      "localhost/vllm:latest",
      ...base.args,
    ]);
    expect(plan.args.join(" ")).not.toContain("secret");
    expect(plan.container).toEqual({
      runtime: "podman",
      binary: "/usr/bin/podman",
      name: base.containerName,
    });
  });

  it("docker: --gpus with the CSV quoting a device list needs", () => {
    const one = launchPlan({
      ...base,
      runner: "docker",
      image: "vllm/vllm-openai",
      runtimeBinary: "docker",
      gpus: { devices: ["0"], cudaVisibleDevices: "0" },
    });
    expect(one.args.slice(one.args.indexOf("--gpus"), one.args.indexOf("--gpus") + 2)).toEqual([
      "--gpus",
      "device=0",
    ]);
    const two = launchPlan({
      ...base,
      runner: "docker",
      image: "vllm/vllm-openai",
      runtimeBinary: "docker",
      gpus,
    });
    expect(two.args).toContain('"device=GPU-aaaa,GPU-bbbb"');
    expect(
      launchPlan({ ...base, runner: "docker", image: "i", runtimeBinary: "docker" }).args,
    ).not.toContain("--gpus");
  });

  it("apptainer: exec --cleanenv --nv, env through APPTAINERENV_*, binds read-only", () => {
    const plan = launchPlan({
      ...base,
      runner: "apptainer",
      binary: "vllm",
      image: "/images/vllm.sif",
      runtimeBinary: "/usr/bin/apptainer",
      envNames: ["HF_TOKEN"],
      mounts: ["/models/m"],
      gpus,
    });
    expect(plan.args).toEqual([
      "exec",
      "--cleanenv",
      "--nv",
      "--bind",
      "/models/m:/models/m:ro",
      "/images/vllm.sif",
      "vllm",
      ...base.args,
    ]);
    expect(plan.env.APPTAINERENV_HF_TOKEN).toBe("secret");
    expect(plan.env.APPTAINERENV_CUDA_VISIBLE_DEVICES).toBe("0,1");
    expect(plan.container).toBeNull();
  });
});
