import { type ExperimentConfig, LlamaServerConfig } from "@llem/schema";
import { requestsInFlight } from "../../servers/spec-helpers.js";

export function llamaServerSection(config: ExperimentConfig) {
  return config["llama-server"] ?? LlamaServerConfig.parse({});
}

/** Slots: the config's n_parallel, else the most requests the workload has in flight. */
export function llamaServerSlots(config: ExperimentConfig): number {
  return llamaServerSection(config).n_parallel ?? requestsInFlight(config);
}
