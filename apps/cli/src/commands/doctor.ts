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
  /** One line per energy component: measurable here or not, by which sampler, and why. */
  components: (Finding & { sampler: string; method: string; devices: string[] })[];
  /** What `sampler: auto` does on this machine, in one line. */
  auto: Finding;
  samplers: Finding[];
  gpus: Finding[];
}

const MIN_NODE = [20, 19] as const;

/** `llem doctor`: what this machine can run and measure, each with the reason. */
export async function doctorCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("doctor", argv, { json: { type: "boolean" } });
  expectPositionals("doctor", positionals, []);
  const engines = await engineFindings();
  const components = await componentFindings();
  const report: DoctorReport = {
    node: nodeFinding(),
    machine: {
      name: "machine",
      ok: true,
      detail: `${platform()}-${arch()}, ${cpus().length} CPU(s) (${cpus()[0]?.model.trim() ?? "unknown"}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    },
    engines: engines.findings,
    runners: await runnerFindings(),
    components,
    auto: autoFinding(components),
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
    style.bold("Energy components") +
      style.dim("  (auto measures every one available; it estimates only when none is)"),
    ...report.components.map((finding) =>
      line({
        ...finding,
        detail: `${finding.sampler}, ${finding.method}: ${finding.detail}`,
      }),
    ),
    line(report.auto),
    style.bold("Energy samplers"),
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

/** Each energy component (GPU, CPU package, DRAM, the CPU estimate) as this machine has it. */
async function componentFindings(): Promise<DoctorReport["components"]> {
  const { machineGpus, probeComponents, resolveGpus } = await import("@llem/backends");
  // What an experiment with `gpus: auto` would measure: the GPUs this process was given.
  const listed = await machineGpus();
  let gpus: ReturnType<typeof resolveGpus>["gpus"] | undefined;
  try {
    gpus = listed.ok ? resolveGpus("auto", process.env, listed.gpus).gpus : undefined;
  } catch {
    gpus = undefined; // the GPUs section says why
  }
  const probes = await probeComponents(gpus ? { gpus } : {});
  return probes.map((probe) => ({
    name: probe.component,
    ok: probe.available,
    sampler: probe.sampler,
    method: probe.method,
    devices: probe.devices,
    detail: probe.reason,
  }));
}

function autoFinding(components: DoctorReport["components"]): Finding {
  const measured = components.filter((c) => c.ok && c.method === "measured");
  const detail =
    measured.length > 0
      ? `measures ${measured.map((c) => `${c.name} (${c.sampler}: ${c.devices.join(", ")})`).join(" + ")}; results say which components their total covers`
      : "nothing here can be measured, so results are the CPU estimate, labelled estimated everywhere";
  return { name: "auto", ok: measured.length > 0, detail };
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
  const { describeEnvironment, machineGpus, pciOrder, resolveGpus } = await import(
    "@llem/backends"
  );
  const listed = await machineGpus();
  if (listed.ok) {
    const lines: Finding[] = pciOrder(listed.gpus).map((gpu, position) => ({
      name: `gpu${gpu.index}`,
      ok: true,
      detail: [
        gpu.name,
        gpu.uuid ?? "no UUID",
        gpu.pciBusId ? `bus ${gpu.pciBusId}` : null,
        gpu.memoryTotalBytes ? `${(gpu.memoryTotalBytes / 2 ** 30).toFixed(1)} GiB` : null,
        `gpus index ${position} (PCI bus order)`,
        gpu.mig && gpu.mig.length > 0
          ? `MIG: ${gpu.mig.map((mig) => mig.uuid).join(", ")} (energy is per whole GPU)`
          : null,
        gpu.moduleScope ? "module power: NVML's energy covers Grace CPU + GPU + memory" : null,
      ]
        .filter(Boolean)
        .join(", "),
    }));
    try {
      const auto = resolveGpus("auto", process.env, listed.gpus);
      lines.push({
        name: "gpus: auto",
        ok: true,
        detail: `${auto.gpus.map((gpu) => `gpu${gpu.index}`).join(", ") || "no GPU"} (${auto.description.replace(/^gpus: auto → /, "")})${auto.warnings.length > 0 ? `; ${auto.warnings.join("; ")}` : ""}`,
      });
    } catch (error) {
      lines.push({ name: "gpus: auto", ok: false, detail: (error as Error).message });
    }
    return lines;
  }
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
