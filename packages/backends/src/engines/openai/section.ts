import { type ExperimentConfig, OpenAiConfig } from "@llem/schema";

export function openAiSection(config: ExperimentConfig) {
  return config.openai ?? OpenAiConfig.parse({});
}
