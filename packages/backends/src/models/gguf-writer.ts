import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VERSION,
  GgufValueType,
  ggmlTensorBytes,
} from "./gguf-format.js";

/** A metadata value, typed the way GGUF stores it. */
export type GgufValue =
  | { type: "uint32" | "int32" | "float32" | "uint64"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "array"; itemType: "string"; values: readonly string[] }
  | { type: "array"; itemType: "float32" | "int32"; values: ArrayLike<number> };

export interface GgufTensorToWrite {
  name: string;
  /** ggml order: dims[0] is the fastest-varying (row length). */
  dims: readonly number[];
  ggmlType: number;
  /** Writes exactly the tensor's bytes by calling `emit` with consecutive chunks. */
  produce(emit: (chunk: Uint8Array) => void): void;
}

/** Growable little-endian byte buffer for the header, which is small next to the tensor data. */
class ByteSink {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
  u32(value: number): void {
    this.reserve(4);
    this.buffer.writeUInt32LE(value, this.length);
    this.length += 4;
  }
  i32(value: number): void {
    this.reserve(4);
    this.buffer.writeInt32LE(value, this.length);
    this.length += 4;
  }
  f32(value: number): void {
    this.reserve(4);
    this.buffer.writeFloatLE(value, this.length);
    this.length += 4;
  }
  u64(value: number): void {
    this.reserve(8);
    this.buffer.writeBigUInt64LE(BigInt(value), this.length);
    this.length += 8;
  }
  u8(value: number): void {
    this.reserve(1);
    this.buffer.writeUInt8(value, this.length);
    this.length += 1;
  }
  string(value: string): void {
    const bytes = Buffer.from(value, "utf8");
    this.u64(bytes.length);
    this.reserve(bytes.length);
    bytes.copy(this.buffer, this.length);
    this.length += bytes.length;
  }
  padTo(alignment: number): void {
    const padding = (alignment - (this.length % alignment)) % alignment;
    this.reserve(padding);
    this.buffer.fill(0, this.length, this.length + padding);
    this.length += padding;
  }
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

function writeValue(sink: ByteSink, value: GgufValue): void {
  switch (value.type) {
    case "uint32":
      sink.u32(GgufValueType.uint32);
      sink.u32(value.value);
      return;
    case "int32":
      sink.u32(GgufValueType.int32);
      sink.i32(value.value);
      return;
    case "float32":
      sink.u32(GgufValueType.float32);
      sink.f32(value.value);
      return;
    case "uint64":
      sink.u32(GgufValueType.uint64);
      sink.u64(value.value);
      return;
    case "bool":
      sink.u32(GgufValueType.bool);
      sink.u8(value.value ? 1 : 0);
      return;
    case "string":
      sink.u32(GgufValueType.string);
      sink.string(value.value);
      return;
    case "array": {
      sink.u32(GgufValueType.array);
      if (value.itemType === "string") {
        sink.u32(GgufValueType.string);
        sink.u64(value.values.length);
        for (const item of value.values) sink.string(item);
      } else {
        sink.u32(GgufValueType[value.itemType]);
        sink.u64(value.values.length);
        for (let index = 0; index < value.values.length; index++) {
          const item = value.values[index] as number;
          if (value.itemType === "float32") sink.f32(item);
          else sink.i32(item);
        }
      }
      return;
    }
  }
}

function tensorBytes(tensor: GgufTensorToWrite): number {
  const elements = tensor.dims.reduce((product, dim) => product * dim, 1);
  const bytes = ggmlTensorBytes(tensor.ggmlType, elements);
  if (bytes === null) throw new Error(`cannot size ggml type ${tensor.ggmlType} of ${tensor.name}`);
  return bytes;
}

/**
 * Writes a GGUF v3 file to `path` (which must not be the final name: callers write to a temp file
 * and rename) and fsyncs it. Tensor data is streamed, so memory stays small for large models.
 */
export function writeGgufFile(
  path: string,
  metadata: ReadonlyArray<readonly [string, GgufValue]>,
  tensors: readonly GgufTensorToWrite[],
): void {
  const alignment = GGUF_DEFAULT_ALIGNMENT;
  const header = new ByteSink();
  header.u32(GGUF_MAGIC);
  header.u32(GGUF_VERSION);
  header.u64(tensors.length);
  header.u64(metadata.length);
  for (const [key, value] of metadata) {
    header.string(key);
    writeValue(header, value);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const tensor of tensors) {
    offsets.push(offset);
    header.string(tensor.name);
    header.u32(tensor.dims.length);
    for (const dim of tensor.dims) header.u64(dim);
    header.u32(tensor.ggmlType);
    header.u64(offset);
    offset += tensorBytes(tensor);
    offset += (alignment - (offset % alignment)) % alignment;
  }
  header.padTo(alignment);

  const fd = openSync(path, "wx");
  try {
    writeAll(fd, header.bytes());
    let written = 0;
    const zeros = new Uint8Array(alignment);
    tensors.forEach((tensor, index) => {
      const start = offsets[index] as number;
      if (written < start) {
        writeAll(fd, zeros.subarray(0, start - written));
        written = start;
      }
      const expected = tensorBytes(tensor);
      let produced = 0;
      tensor.produce((chunk) => {
        writeAll(fd, chunk);
        produced += chunk.length;
      });
      if (produced !== expected) {
        throw new Error(`tensor ${tensor.name}: produced ${produced} bytes, expected ${expected}`);
      }
      written += produced;
    });
    if (written < offset) writeAll(fd, zeros.subarray(0, offset - written));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}
