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
  runners: Finding[];
  samplers: Finding[];
  gpus: Finding[];
}

const MIN_NODE = [20, 19] as const;

/** `llem doctor`: what this machine can run and measure, each with the reason. */
export async function doctorCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("doctor", argv, { json: { type: "boolean" } });
  expectPositionals("doctor", positionals, []);
  const engines = await engineFindings();
  const report: DoctorReport = {
    node: nodeFinding(),
    machine: {
      name: "machine",
      ok: true,
      detail: `${platform()}-${arch()}, ${cpus().length} CPU(s) (${cpus()[0]?.model.trim() ?? "unknown"}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    },
    engines: engines.findings,
    runners: await runnerFindings(),
    samplers: await samplerFindings(),
    gpus: await gpuFindings(),
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(renderReport(report));
  }
  // Doctor reports; it fails only when llem itself cannot run (Node too old, or the default
  // engine — the embedded one — cannot run here).
  return report.node.ok && engines.defaultOk ? EXIT.ok : EXIT.failure;
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
    style.bold("Container runners") +
      style.dim("  (runner: podman | docker | apptainer, with an image)"),
    ...report.runners.map(line),
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

/**
 * One line per engine of the config format: the registry's probe for each engine this build can
 * run, and why not for the others. Server engines' binaries and containers are their probes' to
 * report.
 */
async function engineFindings(): Promise<{ findings: Finding[]; defaultOk: boolean }> {
  const { defaultEngine, engineDefinition, engineUnavailableReason } = await import(
    "@llem/backends"
  );
  const { ENGINES } = await import("@llem/schema");
  const findings: Finding[] = [];
  for (const name of ENGINES) {
    const definition = engineDefinition(name);
    if (!definition) {
      findings.push({ name, ok: false, detail: engineUnavailableReason(name) });
      continue;
    }
    const probe = await definition.probe();
    findings.push({ name, ...probe });
  }
  const fallback = defaultEngine().name;
  return { findings, defaultOk: findings.some((f) => f.name === fallback && f.ok) };
}

async function runnerFindings(): Promise<Finding[]> {
  const { probeRunners } = await import("@llem/backends");
  return probeRunners().map((probe) => ({
    name: probe.runner,
    ok: probe.ok,
    detail: probe.detail,
  }));
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
