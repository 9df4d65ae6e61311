import type { ExperimentConfig } from "./experiment-config.js";

/** A short human-readable label for a config: "llamacpp / synthetic:tiny / batch=4". */
export function summarizeConfig(config: ExperimentConfig): string {
  const parts: string[] = [config.engine, config.task.model];
  if (config.engine === "llamacpp") {
    const section = config.llamacpp;
    parts.push(`batch=${section?.batch_size ?? 1}`);
    if (section?.threads != null) parts.push(`threads=${section.threads}`);
    if (section?.gpu_layers) parts.push(`gpu_layers=${section.gpu_layers}`);
    if (section && section.kv_cache_type !== "f16") parts.push(`kv=${section.kv_cache_type}`);
    if (section?.flash_attention) parts.push("flash_attn");
  } else {
    const section = config[config.engine];
    if (section?.dtype && section.dtype !== "auto") parts.push(section.dtype);
    if (section?.quantization) parts.push(section.quantization);
    if (section?.max_num_seqs != null) parts.push(`max_seqs=${section.max_num_seqs}`);
    if (section && section.tensor_parallel_size > 1)
      parts.push(`tp=${section.tensor_parallel_size}`);
  }
  if (config.workload.mode === "concurrent")
    parts.push(`concurrency=${config.workload.concurrency}`);
  return parts.join(" / ");
}
