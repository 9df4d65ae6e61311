/**
 * Constants of the GGUF file format (version 3), shared by the writer and the reader.
 * See https://github.com/ggml-org/ggml/blob/master/docs/gguf.md.
 */

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

export const GgufValueType = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

/** ggml tensor element types that llem writes or needs to size. */
export const GgmlType = {
  f32: 0,
  f16: 1,
  q4_0: 2,
  q4_1: 3,
  q5_0: 6,
  q5_1: 7,
  q8_0: 8,
  q8_1: 9,
  q2_k: 10,
  q3_k: 11,
  q4_k: 12,
  q5_k: 13,
  q6_k: 14,
  q8_k: 15,
  bf16: 30,
} as const;

/** Elements per block and bytes per block of each ggml type the reader can size. */
export const GGML_TYPE_LAYOUT: Record<
  number,
  { name: string; blockSize: number; blockBytes: number }
> = {
  0: { name: "f32", blockSize: 1, blockBytes: 4 },
  1: { name: "f16", blockSize: 1, blockBytes: 2 },
  2: { name: "q4_0", blockSize: 32, blockBytes: 18 },
  3: { name: "q4_1", blockSize: 32, blockBytes: 20 },
  6: { name: "q5_0", blockSize: 32, blockBytes: 22 },
  7: { name: "q5_1", blockSize: 32, blockBytes: 24 },
  8: { name: "q8_0", blockSize: 32, blockBytes: 34 },
  9: { name: "q8_1", blockSize: 32, blockBytes: 36 },
  10: { name: "q2_k", blockSize: 256, blockBytes: 84 },
  11: { name: "q3_k", blockSize: 256, blockBytes: 110 },
  12: { name: "q4_k", blockSize: 256, blockBytes: 144 },
  13: { name: "q5_k", blockSize: 256, blockBytes: 176 },
  14: { name: "q6_k", blockSize: 256, blockBytes: 210 },
  15: { name: "q8_k", blockSize: 256, blockBytes: 292 },
  16: { name: "iq2_xxs", blockSize: 256, blockBytes: 66 },
  17: { name: "iq2_xs", blockSize: 256, blockBytes: 74 },
  18: { name: "iq3_xxs", blockSize: 256, blockBytes: 98 },
  19: { name: "iq1_s", blockSize: 256, blockBytes: 50 },
  20: { name: "iq4_nl", blockSize: 32, blockBytes: 18 },
  21: { name: "iq3_s", blockSize: 256, blockBytes: 110 },
  22: { name: "iq2_s", blockSize: 256, blockBytes: 82 },
  23: { name: "iq4_xs", blockSize: 256, blockBytes: 136 },
  24: { name: "i8", blockSize: 1, blockBytes: 1 },
  25: { name: "i16", blockSize: 1, blockBytes: 2 },
  26: { name: "i32", blockSize: 1, blockBytes: 4 },
  27: { name: "i64", blockSize: 1, blockBytes: 8 },
  28: { name: "f64", blockSize: 1, blockBytes: 8 },
  29: { name: "iq1_m", blockSize: 256, blockBytes: 56 },
  30: { name: "bf16", blockSize: 1, blockBytes: 2 },
  34: { name: "tq1_0", blockSize: 256, blockBytes: 54 },
  35: { name: "tq2_0", blockSize: 256, blockBytes: 66 },
  39: { name: "mxfp4", blockSize: 32, blockBytes: 17 },
};

/** llama.cpp's `general.file_type` values (LLAMA_FTYPE_*) for the types llem writes. */
export const LlamaFileType = { f32: 0, f16: 1, q4_0: 2, q8_0: 7 } as const;

/** Bytes a tensor of `elements` elements of ggml type `type` occupies, or null for unknown types. */
export function ggmlTensorBytes(type: number, elements: number): number | null {
  const layout = GGML_TYPE_LAYOUT[type];
  if (layout === undefined) return null;
  return Math.ceil(elements / layout.blockSize) * layout.blockBytes;
}
