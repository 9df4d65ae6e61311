import { missingPackageMessage } from "../../optional-dependency.js";
import type { EngineProbe } from "../types.js";
import { describeLlamaCppBinary } from "./binary.js";
import { nodeLlamaCppPackageDir } from "./node-llama-cpp.js";

/**
 * What `llem doctor` says of the llamacpp engine: the llama.cpp binary an experiment process would
 * load now — the native build the install made for this machine, or node-llama-cpp's prebuilt
 * binary as the labelled fallback and why — with its CPU backend library, OpenMP, the native
 * generation loop, what it costs, and which GPU binaries are installed (binary.ts). It loads the
 * binary in this process, as the engine does, so the CPU library it names is the one really mapped.
 */
export async function probeLlamaCpp(): Promise<EngineProbe> {
  if (nodeLlamaCppPackageDir() === null) {
    return { ok: false, detail: missingPackageMessage("node-llama-cpp", "engine llamacpp") };
  }
  const { ok, detail } = await describeLlamaCppBinary();
  return { ok, detail };
}
