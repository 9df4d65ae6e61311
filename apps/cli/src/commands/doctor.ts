import { existsSync } from "node:fs";
import { arch, cpus, platform, totalmem } from "node:os";
import { delimiter, join } from "node:path";
import { expectPositionals, parseCommandArgs } from "../args.js";
import { EXIT } from "../exit-codes.js";
import { styleFor } from "../output/style.js";

interface Finding {
  name: string;
  ok: boolean;
  detail: string;
}

interface DoctorReport {
  node: Finding;
  machine: Finding;
  engines: Finding[];
  samplers: Finding[];
  gpus: Finding[];
}

const MIN_NODE = [20, 19] as const;
const SERVER_ENGINE_COMMANDS: Record<string, string> = {
  vllm: "vllm",
  tensorrt: "trtllm-serve",
  transformers: "transformers",
  sglang: "",
  openai: "",
};

/** `llem doctor`: what this machine can run and measure, each with the reason. */
export async function doctorCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("doctor", argv, { json: { type: "boolean" } });
  expectPositionals("doctor", positionals, []);
  const report: DoctorReport = {
    node: nodeFinding(),
    machine: {
      name: "machine",
      ok: true,
      detail: `${platform()}-${arch()}, ${cpus().length} CPU(s) (${cpus()[0]?.model.trim() ?? "unknown"}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    },
    engines: [await llamaCppFinding(), ...serverEngineFindings()],
    samplers: await samplerFindings(),
    gpus: await gpuFindings(),
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(renderReport(report));
  }
  // Doctor reports; it fails only when llem itself cannot run (Node too old, no llama.cpp).
  const llamacpp = report.engines[0];
  return report.node.ok && llamacpp?.ok ? EXIT.ok : EXIT.failure;
}

function renderReport(report: DoctorReport): string {
  const style = styleFor(process.stdout);
  const mark = (finding: Finding) => (finding.ok ? style.green("ok ") : style.yellow("no "));
  const line = (finding: Finding) =>
    `  ${mark(finding)} ${finding.name.padEnd(13)} ${finding.detail}`;
  const sections: string[] = [
    style.bold("System"),
    line(report.node),
    line(report.machine),
    style.bold("Engines"),
    ...report.engines.map(line),
    style.bold("Energy samplers") +
      style.dim("  (auto picks the first available of nvml, rapl, estimate)"),
    ...report.samplers.map(line),
    style.bold("GPUs"),
    ...report.gpus.map(line),
  ];
  return `${sections.join("\n")}\n`;
}

function nodeFinding(): Finding {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  const ok = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  return {
    name: "node",
    ok,
    detail: `v${process.versions.node}${ok ? "" : ` — llem needs Node ≥ ${MIN_NODE.join(".")}`}`,
  };
}

/** Which llama.cpp binary the engine loads and what it costs (loaded in this process). */
async function llamaCppFinding(): Promise<Finding> {
  const { describeLlamaCppBinary } = await import("@llem/backends");
  const { ok, detail } = await describeLlamaCppBinary();
  return { name: "llamacpp", ok, detail };
}

function serverEngineFindings(): Finding[] {
  const docker = onPath("docker") ? "docker on PATH" : "no docker";
  return Object.entries(SERVER_ENGINE_COMMANDS).map(([engine, command]) => {
    const local = command
      ? [onPath(command) ? `\`${command}\` on PATH` : `no \`${command}\` on PATH`]
      : [];
    return {
      name: engine,
      ok: false,
      detail: `not supported by this llem build yet (server engines are planned); ${[...local, docker].join(", ")}`,
    };
  });
}

async function samplerFindings(): Promise<Finding[]> {
  const { probeSamplers } = await import("@llem/backends");
  const probes = await probeSamplers();
  return probes.map((probe) => ({
    name: probe.kind,
    ok: probe.available,
    detail: probe.detail ? `${probe.reason} (${probe.detail})` : probe.reason,
  }));
}

async function gpuFindings(): Promise<Finding[]> {
  const { describeEnvironment } = await import("@llem/backends");
  const { gpus } = await describeEnvironment();
  if (gpus.length > 0) {
    return gpus.map((gpu) => ({
      name: `gpu${gpu.index}`,
      ok: true,
      detail: `${gpu.name}${gpu.memory_total_mib ? `, ${(gpu.memory_total_mib / 1024).toFixed(1)} GiB` : ""}${gpu.driver_version ? `, driver ${gpu.driver_version}` : ""}`,
    }));
  }
  const driver = existsSync("/proc/driver/nvidia/gpus")
    ? "NVIDIA driver loaded, but"
    : "no NVIDIA driver;";
  const smi = onPath("nvidia-smi") ? "nvidia-smi lists no GPU" : "no nvidia-smi on PATH";
  return [{ name: "gpus", ok: false, detail: `${driver} ${smi}: experiments run on the CPU` }];
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? "")
    .split(delimiter)
    .some((dir) => dir !== "" && existsSync(join(dir, command)));
}
