import { monotonicNow } from "./scheduler.js";
import type { EnergyMeasurement, EnergySampler } from "./types.js";

/** No energy at all: the window is still timed, energy is null and the result says why. */
export class NoneSampler implements EnergySampler {
  readonly kind = "none" as const;
  readonly method = "none" as const;
  private startedAt = 0;

  constructor(
    private readonly reason: string,
    private readonly now: () => number = monotonicNow,
  ) {}

  async start(): Promise<void> {
    this.startedAt = this.now();
  }

  async stop(): Promise<EnergyMeasurement> {
    return {
      sampler: "none",
      samplers: ["none"],
      method: "none",
      energy_j: null,
      per_device: [],
      duration_s: (this.now() - this.startedAt) / 1000,
      sample_interval_ms: 0,
      sample_count: 0,
      samples: [],
      estimate_inputs: null,
      warnings: [`no energy measured: ${this.reason}`],
      temperatures: [],
    };
  }
}
