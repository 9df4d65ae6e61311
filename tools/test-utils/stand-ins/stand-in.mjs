// The argv checker and mapper behind the stand-ins in bin/: `node stand-in.mjs <engine> <args…>`
// checks <args…> as that engine's server would parse them (known flags only, values of the right
// kind, the required ones present), appends what it received to $LLEM_STANDIN_LOG (one JSON line:
// engine, argv, CUDA_VISIBLE_DEVICES), and prints the argv of a real llama-server that serves the
// same model on the same host and port, NUL-separated, for the bin/ script to exec. A bad argv
// exits 2 with the reason on stderr, as the real server would refuse it.
import { appendFileSync, existsSync } from "node:fs";

const int = (value) => /^-?\d+$/.test(value);
const float01 = (value) => /^\d*\.?\d+$/.test(value) && Number(value) > 0 && Number(value) <= 1;
const string = (value) => value !== undefined;
const oneOf =
  (...values) =>
  (value) =>
    values.includes(value);
const FLAG = Symbol("flag");

/** Each engine's grammar: fixed leading words, where the model goes, and its flags. */
const ENGINES = {
  vllm: {
    leading: ["serve"],
    model: { positional: true },
    slots: "--max-num-seqs",
    required: ["--host", "--port"],
    flags: {
      "--host": string,
      "--port": int,
      "--dtype": oneOf("auto", "half", "float16", "bfloat16", "float", "float32"),
      "--quantization": string,
      "--max-num-seqs": int,
      "--tensor-parallel-size": int,
      "--gpu-memory-utilization": float01,
      "--max-model-len": int,
      "--seed": int,
      "--served-model-name": string,
      "--enable-prefix-caching": FLAG,
    },
  },
  sglang: {
    leading: ["-m", "sglang.launch_server"],
    model: { flag: "--model-path" },
    slots: "--max-running-requests",
    required: ["--model-path", "--host", "--port"],
    flags: {
      "--model-path": string,
      "--host": string,
      "--port": int,
      "--dtype": oneOf("auto", "half", "float16", "bfloat16", "float", "float32"),
      "--quantization": string,
      "--max-running-requests": int,
      "--tp-size": int,
      "--mem-fraction-static": float01,
      "--context-length": int,
      "--random-seed": int,
      "--served-model-name": string,
    },
  },
  tensorrt: {
    leading: [],
    model: { positional: true },
    slots: "--max_batch_size",
    required: ["--host", "--port"],
    flags: {
      "--host": string,
      "--port": int,
      "--backend": oneOf("pytorch", "tensorrt", "trt", "_autodeploy"),
      "--max_batch_size": int,
      "--max_num_tokens": int,
      "--tp_size": int,
      "--pp_size": int,
      "--max_seq_len": int,
      "--kv_cache_free_gpu_memory_fraction": float01,
      "--served_model_name": string,
    },
  },
  transformers: {
    leading: ["serve"],
    model: { flag: "--force-model" },
    slots: null,
    required: ["--force-model", "--host", "--port"],
    flags: {
      "--force-model": string,
      "--host": string,
      "--port": int,
      "--dtype": oneOf("auto", "float16", "bfloat16", "float32"),
      "--device": string,
      "--quantization": oneOf("bnb-4bit", "bnb-8bit"),
      "--continuous-batching": FLAG,
      "--default-seed": int,
      "--log-level": string,
    },
  },
};

function refuse(message) {
  process.stderr.write(`stand-in: ${message}\n`);
  process.exit(2);
}

const [engine, ...argv] = process.argv.slice(2);
const grammar = ENGINES[engine];
if (!grammar) refuse(`unknown engine ${engine}`);
for (const [index, word] of grammar.leading.entries()) {
  if (argv[index] !== word)
    refuse(
      `${engine}: expected ${grammar.leading.join(" ")} first, got ${JSON.stringify(argv.slice(0, grammar.leading.length))}`,
    );
}
const values = new Map();
const positionals = [];
for (let index = grammar.leading.length; index < argv.length; index++) {
  const word = argv[index];
  if (!word.startsWith("--")) {
    positionals.push(word);
    continue;
  }
  const check = grammar.flags[word];
  if (!check) refuse(`${engine}: unrecognized arguments: ${word}`);
  if (check === FLAG) {
    values.set(word, true);
    continue;
  }
  const value = argv[++index];
  if (value === undefined || !check(value))
    refuse(`${engine}: argument ${word}: invalid value ${JSON.stringify(value)}`);
  values.set(word, value);
}
for (const flag of grammar.required)
  if (!values.has(flag)) refuse(`${engine}: the following arguments are required: ${flag}`);
const model = grammar.model.positional ? positionals.shift() : values.get(grammar.model.flag);
if (!model) refuse(`${engine}: no model given`);
if (positionals.length > 0) refuse(`${engine}: unrecognized arguments: ${positionals.join(" ")}`);
if (!existsSync(model))
  refuse(`${engine}: the stand-in serves GGUF files; ${model} does not exist`);

if (process.env.LLEM_STANDIN_LOG) {
  appendFileSync(
    process.env.LLEM_STANDIN_LOG,
    `${JSON.stringify({ engine, argv, cuda_visible_devices: process.env.CUDA_VISIBLE_DEVICES ?? null })}\n`,
  );
}
const llamaServer = process.env.LLEM_STANDIN_LLAMA_SERVER;
if (!llamaServer || !existsSync(llamaServer))
  refuse("LLEM_STANDIN_LLAMA_SERVER must name a llama-server binary");
const slots = Number((grammar.slots && values.get(grammar.slots)) || 4);
const served = [
  llamaServer,
  "--model",
  model,
  "--host",
  values.get("--host"),
  "--port",
  values.get("--port"),
  "--parallel",
  String(slots),
  "--ctx-size",
  String(slots * 1024),
];
process.stderr.write(`stand-in for ${engine}: serving ${model} through ${llamaServer}\n`);
process.stdout.write(`${served.join("\0")}\0`);
