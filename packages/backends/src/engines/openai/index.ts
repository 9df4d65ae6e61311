import { isSyntheticModel } from "../../models/synthetic.js";
import { serverResultWarnings } from "../../servers/definition.js";
import type { EngineDefinition } from "../types.js";
import { openAiSection } from "./section.js";

/**
 * Any OpenAI-compatible server that is already running (`openai.endpoint`): nothing to start or
 * stop, the same load generator and measurements as the server engines llem starts. Energy is
 * measured on this machine only: a remote endpoint's energy is not in the figures (a warning says
 * so when the endpoint is not on this host).
 */
export const openai: EngineDefinition = {
  name: "openai",
  description: "an OpenAI-compatible endpoint that is already running",
  async create(config) {
    const { OpenAiEngine } = await import("./engine.js");
    return new OpenAiEngine(config);
  },
  processEnv: (base) => base,
  preflight(config) {
    return isSyntheticModel(config.task.model)
      ? [
          {
            path: "task.model",
            message:
              "an openai endpoint serves the models it was started with; give the model id it serves, not a synthetic: spec",
          },
        ]
      : [];
  },
  estimate: () => ({
    outputTokensPerS: 50,
    basis: "openai: 50 output tok/s (nothing is known about a remote endpoint before the run)",
  }),
  async probe() {
    return {
      ok: true,
      detail: "nothing to install: runs against openai.endpoint (checked when a run starts)",
    };
  },
  resultWarnings(context) {
    const warnings = serverResultWarnings("openai", context);
    const endpoint = openAiSection(context.config).endpoint ?? "";
    const host = (() => {
      try {
        return new URL(endpoint).hostname;
      } catch {
        return "";
      }
    })();
    const local = ["127.0.0.1", "localhost", "::1", "[::1]"].includes(host);
    if (!local) {
      warnings.push({
        code: "remote_endpoint",
        message: `the endpoint ${host} is not this machine: the energy figures are this machine's, not the server's`,
      });
    }
    return warnings;
  },
  version: () => null,
  summary: {
    parts: (config) => [new URL(openAiSection(config).endpoint ?? "http://unknown").host],
    shows: ["openai.endpoint"],
  },
};
