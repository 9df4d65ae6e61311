import type { NvmlBackend, NvmlBackendFactory } from "./nvml-backend.js";

/** The libnvidia-ml an environment names: `LLEM_NVML_LIBRARY`, else the driver's usual names. */
export function nvmlLibraryOf(env: NodeJS.ProcessEnv): string | undefined {
  return env.LLEM_NVML_LIBRARY || undefined;
}

/**
 * Opens libnvidia-ml through koffi: `library`, else the driver's usual names. koffi is
 * imported only here, on first use.
 */
export async function openNvml(library?: string): Promise<NvmlBackend> {
  const { openKoffiNvml } = await import("./nvml-koffi.js");
  return openKoffiNvml(library);
}

/**
 * This process's NVML: from `LLEM_NVML_LIBRARY` when set (a driver outside the loader's path,
 * or a stand-in library in tests), else from the driver's usual names.
 */
export const openDefaultNvml: NvmlBackendFactory = () => openNvml(nvmlLibraryOf(process.env));
