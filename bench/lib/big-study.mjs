// The 56,832-run study of the scale benchmarks (expand, report): three engines, many axes and
// groups, 3 cycles → 18,944 unique configs, 1,536 invalid combinations skipped. The size of the
// Python tool's own full example study. (In lib/: bench/run.mjs runs only bench/*.mjs.)
export const BIG_STUDY = `study_name: big
task: {model: "synthetic:small", dataset: {n_prompts: 16}}
engine: [llamacpp, vllm, tensorrt]
sweep:
  task.max_output_tokens: [32, 64, 128, 256]
  task.dataset.n_prompts: [16, 64]
  workload_variants:
    - {}
    - {workload.mode: concurrent, workload.concurrency: [2, 4, 8]}
  llamacpp.batch_size: [1, 2, 4, 8, 16, 32, 64, 128]
  llamacpp.threads: [1, 2, 4, 8]
  llamacpp.kv_cache_type: [f32, f16, q8_0, q4_0]
  llamacpp_attention: [{}, {llamacpp.flash_attention: true}]
  vllm.model: [{task.model: Qwen/Qwen2.5-0.5B-Instruct}]
  vllm.dtype: [float16, bfloat16, float32]
  vllm.max_num_seqs: [64, 128, 256, 512]
  vllm.tensor_parallel_size: [1, 2, 4]
  vllm.gpu_memory_utilization: [0.8, 0.9]
  vllm_quantization: [{}, {vllm.quantization: [awq, gptq, fp8]}]
  tensorrt.model: [{task.model: Qwen/Qwen2.5-0.5B-Instruct}]
  tensorrt.backend: [pytorch, tensorrt]
  tensorrt.max_num_seqs: [64, 128, 256, 512]
  tensorrt.tensor_parallel_size: [1, 2, 4]
  tensorrt_kv_cache: [{}, {tensorrt.kv_cache_free_gpu_memory_fraction: [0.8, 0.85, 0.9]}]
study_execution: {n_cycles: 3, experiment_order: shuffle}
`;
