import type { NvmlBackendFactory } from "./nvml-backend.js";

/**
 * Opens libnvidia-ml through koffi, from `LLEM_NVML_LIBRARY` when set (a driver outside the
 * loader's path, or a stand-in library in tests), else from the driver's usual names.
 * koffi is imported only here, on first use.
 */
export const openDefaultNvml: NvmlBackendFactory = async () => {
  const { openKoffiNvml } = await import("./nvml-koffi.js");
  return openKoffiNvml(process.env.LLEM_NVML_LIBRARY || undefined);
};
