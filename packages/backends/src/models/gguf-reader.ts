import { closeSync, readSync } from "node:fs";
import { LlemError } from "@llem/schema";
import { openRegularFileSync, RegularFileError } from "../files/regular-file.js";
import {
  GGML_TYPE_LAYOUT,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GgufValueType,
  ggmlTensorBytes,
} from "./gguf-format.js";

/** Scalar metadata values; arrays are summarised by their item type and length only. */
export type GgufMetadataValue =
  | number
  | bigint
  | boolean
  | string
  | { arrayItemType: number; length: number };

export interface GgufTensorInfo {
  name: string;
  dims: number[];
  ggmlType: number;
  typeName: string;
  /** Offset relative to the start of the tensor data section. */
  offset: number;
  elements: number;
}

export interface GgufHeader {
  path: string;
  version: number;
  fileSizeBytes: number;
  metadata: Map<string, GgufMetadataValue>;
  tensors: GgufTensorInfo[];
  dataOffset: number;
  /** Sum of the element counts of all tensors (the model's parameter count). */
  parameterCount: number;
  architecture: string | null;
  /** The most common element type among 2-D tensors, e.g. "f16" or "q8_0". */
  weightType: string | null;
}

const MAX_COUNT = 10_000_000;
/**
 * The longest metadata string read (16 MiB): real headers hold token strings and chat templates
 * of a few KB; a corrupt or hostile length would otherwise be allocated whole.
 */
const MAX_STRING_BYTES = 16 << 20;
const CHUNK_BYTES = 1 << 20;

class InvalidGguf extends Error {}

/** Sequential little-endian reader over a file descriptor, refilled in 1 MiB chunks. */
class FileCursor {
  private buffer = Buffer.alloc(0);
  private bufferStart = 0;
  position = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  private ensure(bytes: number): void {
    if (this.position + bytes > this.size) {
      throw new InvalidGguf(
        `unexpected end of file at byte ${this.position} (needed ${bytes} more bytes)`,
      );
    }
    const end = this.bufferStart + this.buffer.length;
    if (this.position >= this.bufferStart && this.position + bytes <= end) return;
    const length = Math.min(Math.max(bytes, CHUNK_BYTES), this.size - this.position);
    const fresh = Buffer.alloc(length);
    let read = 0;
    while (read < length) {
      const got = readSync(this.fd, fresh, read, length - read, this.position + read);
      if (got === 0)
        throw new InvalidGguf(`file shorter than its size at byte ${this.position + read}`);
      read += got;
    }
    this.buffer = fresh;
    this.bufferStart = this.position;
  }
  private at(bytes: number): number {
    this.ensure(bytes);
    const local = this.position - this.bufferStart;
    this.position += bytes;
    return local;
  }
  u8(): number {
    const local = this.at(1);
    return this.buffer.readUInt8(local);
  }
  i8(): number {
    const local = this.at(1);
    return this.buffer.readInt8(local);
  }
  u16(): number {
    const local = this.at(2);
    return this.buffer.readUInt16LE(local);
  }
  i16(): number {
    const local = this.at(2);
    return this.buffer.readInt16LE(local);
  }
  u32(): number {
    const local = this.at(4);
    return this.buffer.readUInt32LE(local);
  }
  i32(): number {
    const local = this.at(4);
    return this.buffer.readInt32LE(local);
  }
  f32(): number {
    const local = this.at(4);
    return this.buffer.readFloatLE(local);
  }
  f64(): number {
    const local = this.at(8);
    return this.buffer.readDoubleLE(local);
  }
  u64(): bigint {
    const local = this.at(8);
    return this.buffer.readBigUInt64LE(local);
  }
  i64(): bigint {
    const local = this.at(8);
    return this.buffer.readBigInt64LE(local);
  }
  count(what: string): number {
    const value = this.u64();
    if (value > BigInt(MAX_COUNT)) throw new InvalidGguf(`${what} ${value} is implausibly large`);
    return Number(value);
  }
  string(): string {
    const length = this.u64();
    if (length > BigInt(this.size - this.position)) {
      throw new InvalidGguf(
        `string length ${length} at byte ${this.position - 8} runs past the end of the file`,
      );
    }
    if (length > BigInt(MAX_STRING_BYTES)) {
      throw new InvalidGguf(
        `string of ${length} bytes at byte ${this.position - 8} is over the ${MAX_STRING_BYTES >> 20} MiB limit for a header string`,
      );
    }
    const bytes = Number(length);
    const local = this.at(bytes);
    return this.buffer.toString("utf8", local, local + bytes);
  }
  skip(bytes: number): void {
    if (this.position + bytes > this.size)
      throw new InvalidGguf(`unexpected end of file at byte ${this.position}`);
    this.position += bytes;
  }
}

const SCALAR_BYTES: Record<number, number> = {
  [GgufValueType.uint8]: 1,
  [GgufValueType.int8]: 1,
  [GgufValueType.uint16]: 2,
  [GgufValueType.int16]: 2,
  [GgufValueType.uint32]: 4,
  [GgufValueType.int32]: 4,
  [GgufValueType.float32]: 4,
  [GgufValueType.bool]: 1,
  [GgufValueType.uint64]: 8,
  [GgufValueType.int64]: 8,
  [GgufValueType.float64]: 8,
};

function readScalar(cursor: FileCursor, type: number): GgufMetadataValue {
  switch (type) {
    case GgufValueType.uint8:
      return cursor.u8();
    case GgufValueType.int8:
      return cursor.i8();
    case GgufValueType.uint16:
      return cursor.u16();
    case GgufValueType.int16:
      return cursor.i16();
    case GgufValueType.uint32:
      return cursor.u32();
    case GgufValueType.int32:
      return cursor.i32();
    case GgufValueType.float32:
      return cursor.f32();
    case GgufValueType.bool:
      return cursor.u8() !== 0;
    case GgufValueType.string:
      return cursor.string();
    case GgufValueType.uint64:
      return cursor.u64();
    case GgufValueType.int64:
      return cursor.i64();
    case GgufValueType.float64:
      return cursor.f64();
    default:
      throw new InvalidGguf(`unknown metadata value type ${type} at byte ${cursor.position - 4}`);
  }
}

function readValue(cursor: FileCursor, type: number): GgufMetadataValue {
  if (type !== GgufValueType.array) return readScalar(cursor, type);
  const itemType = cursor.u32();
  const length = cursor.count("array length");
  const itemBytes = SCALAR_BYTES[itemType];
  if (itemBytes !== undefined) cursor.skip(itemBytes * length);
  else if (itemType === GgufValueType.string)
    for (let index = 0; index < length; index++) cursor.string();
  else
    throw new InvalidGguf(
      `unsupported array item type ${itemType} at byte ${cursor.position - 12}`,
    );
  return { arrayItemType: itemType, length };
}

/**
 * Reads the header of a GGUF file (metadata and tensor table, not the weights) and checks that
 * every tensor's data lies inside the file. Throws MODEL_NOT_FOUND or MODEL_INVALID.
 */
export function readGgufHeader(path: string): GgufHeader {
  let fd: number;
  let size: number;
  try {
    // Non-blocking and checked: a FIFO named as a model is refused, not waited on.
    ({ fd, size } = openRegularFileSync(path));
  } catch (error) {
    const problem = error instanceof RegularFileError ? error.problem : undefined;
    if (problem === "not-regular") {
      throw new LlemError(
        "MODEL_INVALID",
        `model file ${path} ${(error as RegularFileError).reason}; task.model expects a GGUF file or synthetic:<preset>`,
        { cause: error, details: { path, field: "task.model" } },
      );
    }
    if (problem === "missing") {
      throw new LlemError(
        "MODEL_NOT_FOUND",
        `model file ${path} does not exist (task.model expects a GGUF file path or synthetic:<preset>)`,
        {
          cause: error,
          details: { path, field: "task.model" },
        },
      );
    }
    throw new LlemError(
      "MODEL_INVALID",
      `model file ${path} cannot be opened: ${(error as Error).message}`,
      {
        cause: error,
        details: { path, field: "task.model" },
      },
    );
  }
  try {
    return parse(new FileCursor(fd, size), path, size);
  } catch (error) {
    if (error instanceof InvalidGguf) {
      throw new LlemError(
        "MODEL_INVALID",
        `model file ${path} is not a valid GGUF file: ${error.message}`,
        {
          details: { path, field: "task.model" },
        },
      );
    }
    if ((error as NodeJS.ErrnoException).code === "EISDIR") {
      throw new LlemError("MODEL_INVALID", `model file ${path} is a directory, not a GGUF file`, {
        details: { path, field: "task.model" },
      });
    }
    throw error;
  } finally {
    closeSync(fd);
  }
}

function parse(cursor: FileCursor, path: string, size: number): GgufHeader {
  if (size < 24) throw new InvalidGguf(`only ${size} bytes long`);
  const magic = cursor.u32();
  if (magic !== GGUF_MAGIC)
    throw new InvalidGguf(
      `wrong magic bytes 0x${magic.toString(16).padStart(8, "0")} (expected "GGUF")`,
    );
  const version = cursor.u32();
  if (version !== 2 && version !== 3)
    throw new InvalidGguf(`unsupported GGUF version ${version} (expected 2 or 3)`);
  const tensorCount = cursor.count("tensor count");
  const metadataCount = cursor.count("metadata count");

  const metadata = new Map<string, GgufMetadataValue>();
  for (let index = 0; index < metadataCount; index++) {
    const key = cursor.string();
    const type = cursor.u32();
    metadata.set(key, readValue(cursor, type));
  }

  const tensors: GgufTensorInfo[] = [];
  for (let index = 0; index < tensorCount; index++) {
    const name = cursor.string();
    const dimCount = cursor.u32();
    if (dimCount < 1 || dimCount > 4)
      throw new InvalidGguf(`tensor ${name} has ${dimCount} dimensions (expected 1–4)`);
    const dims: number[] = [];
    for (let dim = 0; dim < dimCount; dim++) dims.push(cursor.count(`dimension of tensor ${name}`));
    const ggmlType = cursor.u32();
    const offset = Number(cursor.u64());
    const elements = dims.reduce((product, dim) => product * dim, 1);
    tensors.push({
      name,
      dims,
      ggmlType,
      typeName: GGML_TYPE_LAYOUT[ggmlType]?.name ?? `type${ggmlType}`,
      offset,
      elements,
    });
  }

  const alignmentValue = metadata.get("general.alignment");
  const alignment =
    typeof alignmentValue === "number" && alignmentValue > 0
      ? alignmentValue
      : GGUF_DEFAULT_ALIGNMENT;
  const dataOffset = Math.ceil(cursor.position / alignment) * alignment;
  for (const tensor of tensors) {
    const bytes = ggmlTensorBytes(tensor.ggmlType, tensor.elements);
    if (bytes === null) continue; // a type this reader cannot size; llama.cpp will judge it
    const end = dataOffset + tensor.offset + bytes;
    if (end > size) {
      throw new InvalidGguf(
        `tensor ${tensor.name} ends at byte ${end} but the file has only ${size} bytes (truncated?)`,
      );
    }
  }

  const typeCounts = new Map<string, number>();
  for (const tensor of tensors) {
    if (tensor.dims.length < 2) continue;
    typeCounts.set(tensor.typeName, (typeCounts.get(tensor.typeName) ?? 0) + tensor.elements);
  }
  const weightType = [...typeCounts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
  const architecture = metadata.get("general.architecture");
  return {
    path,
    version,
    fileSizeBytes: size,
    metadata,
    tensors,
    dataOffset,
    parameterCount: tensors.reduce((sum, tensor) => sum + tensor.elements, 0),
    architecture: typeof architecture === "string" ? architecture : null,
    weightType,
  };
}
