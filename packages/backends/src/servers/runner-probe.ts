import { spawnSync } from "node:child_process";
import { searchPath } from "./find-binary.js";

export interface RunnerProbe {
  runner: "podman" | "docker" | "apptainer";
  ok: boolean;
  detail: string;
}

/**
 * `llem doctor`'s container runtimes: whether each is on PATH and answers (`podman version`,
 * `docker version` — which needs its daemon — and `apptainer version`), with the version or the
 * first line of what went wrong.
 */
export function probeRunners(): RunnerProbe[] {
  return (["podman", "docker", "apptainer"] as const).map((runner) => {
    const path = searchPath(runner);
    if (!path) return { runner, ok: false, detail: `${runner} not found on PATH` };
    const args =
      runner === "apptainer" ? ["version"] : ["version", "--format", "{{.Server.Version}}"];
    const answer = spawnSync(
      path,
      runner === "podman" ? ["version", "--format", "{{.Client.Version}}"] : args,
      {
        encoding: "utf8",
        timeout: 10_000,
      },
    );
    const out = `${answer.stdout ?? ""}`.trim().split("\n")[0] ?? "";
    if (answer.status === 0 && out) return { runner, ok: true, detail: `${path}, version ${out}` };
    const why =
      `${answer.stderr ?? ""}`.trim().split("\n").at(-1) ||
      answer.error?.message ||
      `exit ${answer.status}`;
    return { runner, ok: false, detail: `${path}: ${why}` };
  });
}
