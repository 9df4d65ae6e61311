import { randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { deriveSeed, LlemError, seededRandom } from "@llem/schema";
import { GgmlType, LlamaFileType } from "./gguf-format.js";
import { type GgufTensorToWrite, type GgufValue, writeGgufFile } from "./gguf-writer.js";
import { float32ToFloat16Bits } from "./half-float.js";

/**
 * Synthetic models: llama-architecture GGUFs with seeded random weights and a byte-level
 * tokenizer. Real compute with no download. The bytes depend only on the spec and
 * GENERATOR_VERSION, so every machine builds the same file (bump the version when the bytes change).
 */

export const SYNTHETIC_PREFIX = "synthetic:";
const GENERATOR_VERSION = 2;

export const SYNTHETIC_DTYPES = ["f32", "f16", "q8_0", "q4_0"] as const;
export type SyntheticDtype = (typeof SYNTHETIC_DTYPES)[number];

export interface SyntheticSpec {
  layers: number;
  width: number;
  /** Attention heads; head size is width / heads. */
  heads: number;
  kvHeads: number;
  /** Feed-forward (SwiGLU) hidden size. */
  ff: number;
  vocab: number;
  /** n_ctx_train written to the file: the largest context llama.cpp will allow without warnings. */
  context: number;
  dtype: SyntheticDtype;
  seed: number;
}

const DEFAULTS = { dtype: "f16" as SyntheticDtype, seed: 0, context: 4096 };

/** Presets span ~250× in parameters so a sweep over model size shows real scaling. */
export const SYNTHETIC_PRESETS = {
  tiny: { layers: 2, width: 128, vocab: 512 },
  small: { layers: 4, width: 256, vocab: 1024 },
  medium: { layers: 8, width: 512, vocab: 2048 },
  large: { layers: 12, width: 768, vocab: 4096 },
} as const satisfies Record<string, { layers: number; width: number; vocab: number }>;
export type SyntheticPreset = keyof typeof SYNTHETIC_PRESETS;

const SPEC_KEYS = [
  "layers",
  "width",
  "heads",
  "kv_heads",
  "ff",
  "vocab",
  "context",
  "dtype",
  "seed",
] as const;

/** Tokens 0–2 are <unk>, <s>, </s>; 3–258 are the 256 bytes; 259 is "▁" (a space). */
const MIN_VOCAB = 260;

export function isSyntheticModel(model: string): boolean {
  return model.startsWith(SYNTHETIC_PREFIX);
}

function invalidSpec(model: string, problem: string): LlemError {
  return new LlemError(
    "CONFIG_INVALID",
    `task.model "${model}": ${problem}. Expected synthetic:<preset> (presets: ${Object.keys(SYNTHETIC_PRESETS).join(", ")}), optionally followed by overrides, or synthetic:layers=4,width=256,vocab=512,dtype=f16 (keys: ${SPEC_KEYS.join(", ")}; dtype one of ${SYNTHETIC_DTYPES.join(", ")})`,
    { details: { field: "task.model", value: model, presets: Object.keys(SYNTHETIC_PRESETS) } },
  );
}

function defaultFeedForward(width: number): number {
  return Math.ceil((width * 8) / 3 / 32) * 32;
}

/**
 * Parses `synthetic:<preset>[,key=value…]` or `synthetic:key=value,…`. Every size must keep
 * q8_0/q4_0 blocks (32 elements) whole, so widths and ff sizes are multiples of 32.
 */
export function parseSyntheticSpec(model: string): SyntheticSpec {
  if (!isSyntheticModel(model)) throw invalidSpec(model, "not a synthetic model");
  const parts = model
    .slice(SYNTHETIC_PREFIX.length)
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
  if (parts.length === 0) throw invalidSpec(model, "no preset or parameters given");
  const values: Record<string, string> = {};
  let base: { layers: number; width: number; vocab: number } | undefined;
  parts.forEach((part, index) => {
    const equals = part.indexOf("=");
    if (equals < 0) {
      if (index !== 0)
        throw invalidSpec(
          model,
          `"${part}" is not key=value (only the first item may name a preset)`,
        );
      if (!Object.hasOwn(SYNTHETIC_PRESETS, part))
        throw invalidSpec(model, `unknown preset "${part}"`);
      base = SYNTHETIC_PRESETS[part as SyntheticPreset];
      return;
    }
    const key = part.slice(0, equals).trim();
    const value = part.slice(equals + 1).trim();
    if (!(SPEC_KEYS as readonly string[]).includes(key))
      throw invalidSpec(model, `unknown key "${key}"`);
    if (key in values) throw invalidSpec(model, `key "${key}" given twice`);
    values[key] = value;
  });

  const integer = (key: string, fallback: number | undefined, min: number, max: number): number => {
    const raw = values[key];
    if (raw === undefined) {
      if (fallback === undefined) throw invalidSpec(model, `missing "${key}"`);
      return fallback;
    }
    if (!/^\d+$/.test(raw)) throw invalidSpec(model, `${key}=${raw} is not a whole number`);
    const value = Number(raw);
    if (value < min || value > max)
      throw invalidSpec(model, `${key}=${raw} is outside ${min}–${max}`);
    return value;
  };

  const layers = integer("layers", base?.layers, 1, 256);
  const width = integer("width", base?.width, 32, 16384);
  if (width % 32 !== 0) throw invalidSpec(model, `width=${width} must be a multiple of 32`);
  const heads = integer("heads", Math.max(1, width / 64), 1, width);
  if (width % heads !== 0)
    throw invalidSpec(model, `width=${width} is not divisible by heads=${heads}`);
  const headSize = width / heads;
  if (headSize % 2 !== 0)
    throw invalidSpec(model, `head size width/heads=${headSize} must be even (RoPE)`);
  const kvHeads = integer("kv_heads", heads, 1, heads);
  if (heads % kvHeads !== 0)
    throw invalidSpec(model, `heads=${heads} is not divisible by kv_heads=${kvHeads}`);
  const ff = integer("ff", defaultFeedForward(width), 32, 65536);
  if (ff % 32 !== 0) throw invalidSpec(model, `ff=${ff} must be a multiple of 32`);
  const vocab = integer("vocab", base?.vocab, MIN_VOCAB, 1_000_000);
  const context = integer("context", DEFAULTS.context, 16, 1_048_576);
  const seed = integer("seed", DEFAULTS.seed, 0, 2 ** 32 - 1);
  const dtypeRaw = values.dtype ?? DEFAULTS.dtype;
  if (!(SYNTHETIC_DTYPES as readonly string[]).includes(dtypeRaw)) {
    throw invalidSpec(model, `dtype=${dtypeRaw} is not one of ${SYNTHETIC_DTYPES.join(", ")}`);
  }
  return {
    layers,
    width,
    heads,
    kvHeads,
    ff,
    vocab,
    context,
    dtype: dtypeRaw as SyntheticDtype,
    seed,
  };
}

/** Parameters a spec produces (every tensor element, embeddings and norms included). */
export function syntheticParameterCount(spec: SyntheticSpec): number {
  const kvWidth = (spec.width / spec.heads) * spec.kvHeads;
  const perLayer =
    2 * spec.width + // attention and ffn norms
    2 * spec.width * spec.width + // q, output
    2 * spec.width * kvWidth + // k, v
    3 * spec.width * spec.ff; // gate, up, down
  return spec.layers * perLayer + 2 * spec.vocab * spec.width + spec.width;
}

/** Canonical file name: every field, so two specs that mean the same model share one file. */
export function syntheticFileName(spec: SyntheticSpec): string {
  return `synthetic-g${GENERATOR_VERSION}-l${spec.layers}-w${spec.width}-h${spec.heads}-kv${spec.kvHeads}-ff${spec.ff}-v${spec.vocab}-c${spec.context}-${spec.dtype}-s${spec.seed}.gguf`;
}

/** `LLEM_CACHE_DIR`, else `$XDG_CACHE_HOME/llem`, else `~/.cache/llem`. */
export function llemCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LLEM_CACHE_DIR) return env.LLEM_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "llem");
  return join(homedir(), ".cache", "llem");
}

function tokenizerMetadata(vocab: number): Array<[string, GgufValue]> {
  const tokens: string[] = ["<unk>", "<s>", "</s>"];
  const types: number[] = [2, 3, 3]; // UNKNOWN, CONTROL, CONTROL
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(6); // BYTE
  }
  tokens.push("\u2581");
  types.push(1); // NORMAL
  // Fillers only give the output layer its size; no text ever merges into them, so tokenization
  // stays one token per byte (one per space).
  for (let index = tokens.length; index < vocab; index++) {
    tokens.push(`<filler_${index}>`);
    types.push(1);
  }
  const scores = new Float32Array(vocab);
  return [
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.pre", { type: "string", value: "default" }],
    ["tokenizer.ggml.tokens", { type: "array", itemType: "string", values: tokens }],
    ["tokenizer.ggml.scores", { type: "array", itemType: "float32", values: scores }],
    ["tokenizer.ggml.token_type", { type: "array", itemType: "int32", values: types }],
    ["tokenizer.ggml.unknown_token_id", { type: "uint32", value: 0 }],
    ["tokenizer.ggml.bos_token_id", { type: "uint32", value: 1 }],
    ["tokenizer.ggml.eos_token_id", { type: "uint32", value: 2 }],
    ["tokenizer.ggml.add_bos_token", { type: "bool", value: true }],
    ["tokenizer.ggml.add_eos_token", { type: "bool", value: false }],
    ["tokenizer.ggml.add_space_prefix", { type: "bool", value: false }],
  ];
}

const CHUNK_ELEMENTS = 1 << 16; // a multiple of the 32-element quantisation block

/** Uniform weights in [-scale, scale], written as the requested element type. */
function randomTensor(
  name: string,
  dims: number[],
  dtype: SyntheticDtype,
  seed: number,
  scale: number,
): GgufTensorToWrite {
  const elements = dims.reduce((product, dim) => product * dim, 1);
  const oneDimensional = dims.length === 1;
  const type = oneDimensional ? "f32" : dtype; // llama.cpp needs 1-D tensors (norms) in f32
  return {
    name,
    dims,
    ggmlType: GgmlType[type],
    produce(emit) {
      const random = seededRandom(deriveSeed(seed, name)).nextFloat;
      const values = new Float32Array(CHUNK_ELEMENTS);
      for (let start = 0; start < elements; start += CHUNK_ELEMENTS) {
        const count = Math.min(CHUNK_ELEMENTS, elements - start);
        for (let index = 0; index < count; index++) values[index] = (random() * 2 - 1) * scale;
        emit(encode(values.subarray(0, count), type));
      }
    },
  };
}

function constantTensor(name: string, dims: number[], value: number): GgufTensorToWrite {
  const elements = dims.reduce((product, dim) => product * dim, 1);
  return {
    name,
    dims,
    ggmlType: GgmlType.f32,
    produce(emit) {
      emit(new Uint8Array(new Float32Array(elements).fill(value).buffer));
    },
  };
}

function encode(values: Float32Array, type: SyntheticDtype): Uint8Array {
  switch (type) {
    case "f32":
      return new Uint8Array(
        values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength),
      );
    case "f16": {
      const out = new Uint16Array(values.length);
      for (let index = 0; index < values.length; index++)
        out[index] = float32ToFloat16Bits(values[index] as number);
      return new Uint8Array(out.buffer);
    }
    case "q8_0":
      return quantizeQ8_0(values);
    case "q4_0":
      return quantizeQ4_0(values);
  }
}

/** ggml's reference quantize_row_q8_0: per 32 values an f16 scale and 32 int8s. */
function quantizeQ8_0(values: Float32Array): Uint8Array {
  const blocks = values.length / 32;
  const out = new Uint8Array(blocks * 34);
  const view = new DataView(out.buffer);
  for (let block = 0; block < blocks; block++) {
    let absMax = 0;
    for (let index = 0; index < 32; index++)
      absMax = Math.max(absMax, Math.abs(values[block * 32 + index] as number));
    const scale = absMax / 127;
    const inverse = scale !== 0 ? 1 / scale : 0;
    view.setUint16(block * 34, float32ToFloat16Bits(scale), true);
    for (let index = 0; index < 32; index++) {
      const scaled = (values[block * 32 + index] as number) * inverse;
      view.setInt8(block * 34 + 2 + index, Math.sign(scaled) * Math.round(Math.abs(scaled)));
    }
  }
  return out;
}

/** ggml's reference quantize_row_q4_0: per 32 values an f16 scale and 16 bytes of nibbles. */
function quantizeQ4_0(values: Float32Array): Uint8Array {
  const blocks = values.length / 32;
  const out = new Uint8Array(blocks * 18);
  const view = new DataView(out.buffer);
  for (let block = 0; block < blocks; block++) {
    let absMax = 0;
    let max = 0;
    for (let index = 0; index < 32; index++) {
      const value = values[block * 32 + index] as number;
      if (Math.abs(value) > absMax) {
        absMax = Math.abs(value);
        max = value;
      }
    }
    const scale = max / -8;
    const inverse = scale !== 0 ? 1 / scale : 0;
    view.setUint16(block * 18, float32ToFloat16Bits(scale), true);
    for (let index = 0; index < 16; index++) {
      const low = Math.min(15, Math.trunc((values[block * 32 + index] as number) * inverse + 8.5));
      const high = Math.min(
        15,
        Math.trunc((values[block * 32 + 16 + index] as number) * inverse + 8.5),
      );
      out[block * 18 + 2 + index] = low | (high << 4);
    }
  }
  return out;
}

function syntheticTensors(spec: SyntheticSpec): GgufTensorToWrite[] {
  const { width, ff, vocab, dtype, seed } = spec;
  const kvWidth = (width / spec.heads) * spec.kvHeads;
  // Scaled like a trained model's init (1/√fan-in) so activations neither vanish nor overflow f16.
  const tensors = [randomTensor("token_embd.weight", [width, vocab], dtype, seed, 1)];
  for (let layer = 0; layer < spec.layers; layer++) {
    const block = `blk.${layer}`;
    tensors.push(
      constantTensor(`${block}.attn_norm.weight`, [width], 1),
      randomTensor(`${block}.attn_q.weight`, [width, width], dtype, seed, 1 / Math.sqrt(width)),
      randomTensor(`${block}.attn_k.weight`, [width, kvWidth], dtype, seed, 1 / Math.sqrt(width)),
      randomTensor(`${block}.attn_v.weight`, [width, kvWidth], dtype, seed, 1 / Math.sqrt(width)),
      randomTensor(
        `${block}.attn_output.weight`,
        [width, width],
        dtype,
        seed,
        1 / Math.sqrt(width),
      ),
      constantTensor(`${block}.ffn_norm.weight`, [width], 1),
      randomTensor(`${block}.ffn_gate.weight`, [width, ff], dtype, seed, 1 / Math.sqrt(width)),
      randomTensor(`${block}.ffn_up.weight`, [width, ff], dtype, seed, 1 / Math.sqrt(width)),
      randomTensor(`${block}.ffn_down.weight`, [ff, width], dtype, seed, 1 / Math.sqrt(ff)),
    );
  }
  tensors.push(
    constantTensor("output_norm.weight", [width], 1),
    randomTensor("output.weight", [width, vocab], dtype, seed, 1 / Math.sqrt(width)),
  );
  return tensors;
}

function syntheticMetadata(spec: SyntheticSpec, name: string): Array<[string, GgufValue]> {
  const u32 = (value: number): GgufValue => ({ type: "uint32", value });
  return [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: name }],
    ["general.file_type", u32(LlamaFileType[spec.dtype])],
    ["general.quantization_version", u32(2)],
    ["general.alignment", u32(32)],
    ["llama.context_length", u32(spec.context)],
    ["llama.embedding_length", u32(spec.width)],
    ["llama.block_count", u32(spec.layers)],
    ["llama.feed_forward_length", u32(spec.ff)],
    ["llama.attention.head_count", u32(spec.heads)],
    ["llama.attention.head_count_kv", u32(spec.kvHeads)],
    ["llama.rope.dimension_count", u32(spec.width / spec.heads)],
    ["llama.rope.freq_base", { type: "float32", value: 10000 }],
    ["llama.attention.layer_norm_rms_epsilon", { type: "float32", value: 1e-5 }],
    ["llama.vocab_size", u32(spec.vocab)],
    ...tokenizerMetadata(spec.vocab),
  ];
}

/**
 * Returns the path of the synthetic GGUF for `model`, writing it into the cache first if needed.
 * Written to a unique temp file, fsynced, then renamed, so concurrent processes never see a torn
 * file; two writers racing produce identical bytes, so whichever rename lands last is fine.
 */
export function ensureSyntheticModel(
  model: string,
  cacheDir: string = llemCacheDir(),
): { path: string; spec: SyntheticSpec; created: boolean } {
  const spec = parseSyntheticSpec(model);
  const directory = join(cacheDir, "models");
  const path = join(directory, syntheticFileName(spec));
  if (existsSync(path)) return { path, spec, created: false };
  mkdirSync(directory, { recursive: true });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    writeGgufFile(temp, syntheticMetadata(spec, model), syntheticTensors(spec));
    renameSync(temp, path);
    fsyncDirectory(directory);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  return { path, spec, created: true };
}

function fsyncDirectory(directory: string): void {
  const fd = openSync(directory, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
