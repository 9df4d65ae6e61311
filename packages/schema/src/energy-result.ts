import { z } from "zod";

/**
 * The per-component energy of a result (`energy.components`, `energy.total`,
 * `energy.steady_state`): one block per measured device, each saying what it is, what produced
 * its figure and how, and a total that says which components it covers. The headline figures
 * of `energy` (`raw_j`, `adjusted_j`, `energy_per_output_token_j`) are that total's.
 *
 * Optional in the result model: results written before components existed stay valid.
 */

export const ENERGY_COMPONENTS = ["gpu", "cpu_package", "dram", "cpu_estimate"] as const;
export const EnergyComponentKind = z
  .enum(ENERGY_COMPONENTS)
  .describe(
    "gpu: one GPU (NVML); cpu_package, dram: one RAPL zone; cpu_estimate: this process's CPU time × watts per core",
  );
export type EnergyComponentKind = z.infer<typeof EnergyComponentKind>;

export const COMPONENT_READINGS = [
  "energy_counter",
  "power_integration",
  "cpu_time_model",
] as const;

const Joules = z.number().min(0);

export const GpuDetails = z
  .looseObject({
    index: z.int().min(0).describe("NVML index (PCI bus order) on this machine"),
    uuid: z.string().nullable(),
    name: z.string(),
    pci_bus_id: z.string().nullable(),
    mig_instances: z
      .array(z.string())
      .describe("MIG instances the experiment was placed on; energy is the whole GPU's"),
    module_power: z
      .boolean()
      .describe("true on Grace Hopper and similar modules: the counter covers CPU, GPU and memory"),
    counter_update_period_ms: z
      .number()
      .min(0)
      .nullable()
      .describe("how often the energy counter advanced, found by polling it before the window"),
    mean_power_w: z.number().min(0).nullable(),
    peak_power_w: z.number().min(0).nullable(),
    peak_memory_used_bytes: z.number().min(0).nullable(),
    memory_total_bytes: z.number().min(0).nullable(),
    temperature_c: z.looseObject({
      start: z.number().nullable(),
      end: z.number().nullable(),
      peak: z.number().nullable(),
    }),
  })
  .describe("what NVML said about this GPU over the window");

export const EnergyComponent = z
  .looseObject({
    component: EnergyComponentKind,
    device: z.string().describe("gpu0, package-0, dram-0, cpu"),
    source: z.enum(["nvml", "rapl", "estimate"]).describe("the sampler that produced the figure"),
    method: z.enum(["measured", "estimated"]),
    reading: z
      .enum(COMPONENT_READINGS)
      .describe(
        "energy_counter: a hardware counter's delta; power_integration: power samples integrated (no usable counter); cpu_time_model: an estimate",
      ),
    scope: z
      .string()
      .describe("what the figure covers, e.g. one GPU board, a CPU socket (every process on it)"),
    raw_j: Joules.nullable().describe("over the window; null when it could not be established"),
    adjusted_j: Joules.nullable().describe("max(0, raw − idle_power_w × window)"),
    idle_power_w: z.number().min(0).nullable().describe("this device's idle baseline"),
    integrated_j: Joules.nullable().describe(
      "counter energy's cross-check: the window's power samples integrated",
    ),
    duration_s: z.number().min(0),
    sample_interval_ms: z.number().min(0),
    sample_count: z.int().min(0),
    steady_state_raw_j: Joules.nullable()
      .optional()
      .describe("over the steady-state span, from the same readings"),
    gpu: GpuDetails.optional(),
  })
  .describe("one device's energy over the window");
export type EnergyComponent = z.infer<typeof EnergyComponent>;

export const EnergyTotal = z
  .looseObject({
    components: z
      .array(EnergyComponentKind)
      .describe("the component kinds the total covers (the headline's coverage)"),
    devices: z.array(z.string()),
    method: z.enum(["measured", "estimated", "none"]),
    raw_j: Joules.nullable().describe("Σ raw_j of the devices; null if any device's is unknown"),
    adjusted_j: Joules.nullable().describe("Σ adjusted_j of the devices"),
    not_covered: z
      .array(z.string())
      .describe("components not in the total, each with why (not measurable here, not asked for)"),
  })
  .describe("the total the headline figures are");

export const ComponentSum = z
  .looseObject({
    component: EnergyComponentKind,
    devices: z.array(z.string()),
    raw_j: Joules.nullable(),
    adjusted_j: Joules.nullable(),
  })
  .describe("the sum over the devices of one component kind (e.g. every GPU of the experiment)");

export const SteadyStateEnergy = z
  .looseObject({
    from_ms: z.number().min(0).describe("ms from the window's start"),
    to_ms: z.number().min(0),
    duration_s: z.number().min(0),
    raw_j: Joules.nullable().describe("the total's components over the span"),
    adjusted_j: Joules.nullable(),
    output_tokens: z.int().min(0).nullable().describe("tokens generated inside the span"),
    energy_per_output_token_j: Joules.nullable().describe("adjusted if available, else raw"),
  })
  .describe("energy over the steady-state span, from the window's counter readings");
