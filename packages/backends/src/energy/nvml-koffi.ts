import { isMissingPackage, missingPackageMessage } from "../optional-dependency.js";
import type { NvmlBackend, NvmlDeviceInfo, NvmlMigInstance, NvmlReading } from "./nvml-backend.js";

/**
 * libnvidia-ml through the koffi FFI (prebuilt binaries inside the npm package, no compiler).
 * koffi is imported lazily, so nothing loads it unless an NVML sampler is asked for.
 *
 * Calls are synchronous: one read is four NVML queries per device, typically well under a
 * millisecond each, which is cheaper than handing them to a worker thread every 100 ms.
 *
 * Functions newer drivers added (MIG, C2C) are looked up optionally: a driver without them
 * still measures, it just cannot place MIG instances or detect a Grace Hopper module.
 */

const NVML_SUCCESS = 0;
const NVML_ERROR_NOT_SUPPORTED = 3;
const NVML_TEMPERATURE_GPU = 0;
const NVML_DEVICE_NAME_BUFFER_SIZE = 96;
const NVML_DEVICE_UUID_BUFFER_SIZE = 96;
const NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE = 80;
const NVML_ERROR_NOT_FOUND = 6;
/** sizeof(nvmlPciInfo_t): busIdLegacy[16], five unsigned ints, busId[32]. */
const NVML_PCI_INFO_SIZE = 68;
const NVML_PCI_BUS_ID_OFFSET = 36;
/** sizeof(nvmlMemory_t): total, free, used as unsigned long long. */
const NVML_MEMORY_SIZE = 24;
/** Names of modules whose NVML power covers CPU + GPU + memory, where C2C detection is missing. */
const MODULE_NAMES = /\bG[HB]\d{3}\b/;

const LIBRARY_CANDIDATES: Record<string, string[]> = {
  linux: ["libnvidia-ml.so.1", "libnvidia-ml.so"],
  win32: ["nvml.dll", "C:\\Windows\\System32\\nvml.dll"],
};

// biome-ignore lint/suspicious/noExplicitAny: koffi function objects are untyped at this boundary
type NativeFunction = (...args: any[]) => any;

function cString(buffer: Buffer): string {
  const end = buffer.indexOf(0);
  return buffer.toString("utf8", 0, end === -1 ? buffer.length : end);
}

let deviceTypeRegistered = false;

/**
 * Opens NVML from `libraryPath`, or from the driver's usual library names. Rejects with an Error
 * saying why NVML is unavailable (no koffi, no driver, no GPU, init failure).
 */
export async function openKoffiNvml(libraryPath?: string): Promise<NvmlBackend> {
  if (process.platform !== "linux" && process.platform !== "win32" && !libraryPath) {
    throw new Error(`NVML is not available on ${process.platform}`);
  }
  let koffi: typeof import("koffi");
  try {
    const imported = await import("koffi");
    koffi = ((imported as unknown as { default?: typeof import("koffi") }).default ??
      imported) as typeof import("koffi");
  } catch (error) {
    if (isMissingPackage(error, "koffi")) {
      throw new Error(missingPackageMessage("koffi", "NVML (GPU energy)"));
    }
    throw new Error(
      `the koffi FFI module could not be loaded (${error instanceof Error ? error.message : String(error)})`,
    );
  }

  const candidates = libraryPath ? [libraryPath] : (LIBRARY_CANDIDATES[process.platform] ?? []);
  let lib: ReturnType<typeof koffi.load> | undefined;
  let loadedFrom = "";
  const failures: string[] = [];
  for (const candidate of candidates) {
    try {
      lib = koffi.load(candidate);
      loadedFrom = candidate;
      break;
    } catch (error) {
      failures.push(`${candidate}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (!lib) {
    throw new Error(
      `libnvidia-ml could not be loaded (${failures.join("; ")}): no NVIDIA driver on this machine`,
    );
  }

  const library = lib;
  const declare = (signature: string): NativeFunction => library.func(signature) as NativeFunction;
  // koffi type names are process-wide and may be registered once only.
  if (!deviceTypeRegistered) {
    koffi.pointer("nvmlDevice_t", koffi.opaque("nvmlDevice_st"));
    deviceTypeRegistered = true;
  }
  const nvmlInit = declare("int nvmlInit_v2()");
  const nvmlShutdown = declare("int nvmlShutdown()");
  const nvmlErrorString = declare("const char *nvmlErrorString(int result)");
  const getDriverVersion = declare(
    "int nvmlSystemGetDriverVersion(void *version, unsigned int length)",
  );
  const getCount = declare("int nvmlDeviceGetCount_v2(_Out_ unsigned int *count)");
  const getHandle = declare(
    "int nvmlDeviceGetHandleByIndex_v2(unsigned int index, _Out_ nvmlDevice_t *device)",
  );
  const getName = declare(
    "int nvmlDeviceGetName(nvmlDevice_t device, void *name, unsigned int length)",
  );
  const getUuid = declare(
    "int nvmlDeviceGetUUID(nvmlDevice_t device, void *uuid, unsigned int length)",
  );
  const getEnergy = declare(
    "int nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, _Out_ unsigned long long *energy)",
  );
  const getPower = declare(
    "int nvmlDeviceGetPowerUsage(nvmlDevice_t device, _Out_ unsigned int *power)",
  );
  const getTemperature = declare(
    "int nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, _Out_ unsigned int *temp)",
  );
  const getPciInfo = declare("int nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, void *pci)");
  const getMemoryInfo = declare("int nvmlDeviceGetMemoryInfo(nvmlDevice_t device, void *memory)");
  const optionalDeclare = (signature: string): NativeFunction | null => {
    try {
      return declare(signature);
    } catch {
      return null;
    }
  };
  const getMigMode = optionalDeclare(
    "int nvmlDeviceGetMigMode(nvmlDevice_t device, _Out_ unsigned int *current, _Out_ unsigned int *pending)",
  );
  const getMaxMigCount = optionalDeclare(
    "int nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, _Out_ unsigned int *count)",
  );
  const getMigHandle = optionalDeclare(
    "int nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index, _Out_ nvmlDevice_t *mig)",
  );
  const getGpuInstanceId = optionalDeclare(
    "int nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, _Out_ unsigned int *id)",
  );
  const getComputeInstanceId = optionalDeclare(
    "int nvmlDeviceGetComputeInstanceId(nvmlDevice_t device, _Out_ unsigned int *id)",
  );
  // nvmlC2cModeInfo_v1_t is one unsigned int (isC2cEnabled).
  const getC2cMode = optionalDeclare(
    "int nvmlDeviceGetC2cModeInfoV(nvmlDevice_t device, _Out_ unsigned int *c2c)",
  );

  const describe = (code: number): string =>
    `${String(nvmlErrorString(code))} (NVML error ${code})`;
  const check = (code: number, call: string): void => {
    if (code !== NVML_SUCCESS) throw new Error(`${call} failed: ${describe(code)}`);
  };

  /** The MIG instances of a GPU in MIG mode; [] otherwise or where the driver cannot say. */
  const migInstances = (handle: unknown): NvmlMigInstance[] => {
    if (!getMigMode || !getMaxMigCount || !getMigHandle) return [];
    const current = [0];
    const pending = [0];
    if (getMigMode(handle, current, pending) !== NVML_SUCCESS || current[0] !== 1) return [];
    const max = [0];
    if (getMaxMigCount(handle, max) !== NVML_SUCCESS) return [];
    const instances: NvmlMigInstance[] = [];
    for (let slot = 0; slot < (max[0] ?? 0); slot++) {
      const mig: unknown[] = [null];
      const code = getMigHandle(handle, slot, mig);
      if (code === NVML_ERROR_NOT_FOUND || code !== NVML_SUCCESS) continue;
      const uuidBuffer = Buffer.alloc(NVML_DEVICE_UUID_BUFFER_SIZE);
      if (getUuid(mig[0], uuidBuffer, uuidBuffer.length) !== NVML_SUCCESS) continue;
      const gi = [0];
      const ci = [0];
      instances.push({
        uuid: cString(uuidBuffer),
        gpuInstanceId: getGpuInstanceId?.(mig[0], gi) === NVML_SUCCESS ? (gi[0] ?? null) : null,
        computeInstanceId:
          getComputeInstanceId?.(mig[0], ci) === NVML_SUCCESS ? (ci[0] ?? null) : null,
      });
    }
    return instances;
  };

  check(nvmlInit(), "nvmlInit_v2");
  try {
    const driverBuffer = Buffer.alloc(NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE);
    const driver =
      getDriverVersion(driverBuffer, driverBuffer.length) === NVML_SUCCESS
        ? cString(driverBuffer)
        : "unknown";
    const count = [0];
    check(getCount(count), "nvmlDeviceGetCount_v2");
    if (count[0] === 0) throw new Error("NVML reports no GPUs");
    const handles: unknown[] = [];
    const infos: NvmlDeviceInfo[] = [];
    for (let index = 0; index < (count[0] ?? 0); index++) {
      const handle: unknown[] = [null];
      check(getHandle(index, handle), `nvmlDeviceGetHandleByIndex_v2(${index})`);
      handles.push(handle[0]);
      const nameBuffer = Buffer.alloc(NVML_DEVICE_NAME_BUFFER_SIZE);
      const uuidBuffer = Buffer.alloc(NVML_DEVICE_UUID_BUFFER_SIZE);
      const name =
        getName(handle[0], nameBuffer, nameBuffer.length) === NVML_SUCCESS
          ? cString(nameBuffer)
          : `GPU ${index}`;
      const uuid =
        getUuid(handle[0], uuidBuffer, uuidBuffer.length) === NVML_SUCCESS
          ? cString(uuidBuffer)
          : null;
      const pci = Buffer.alloc(NVML_PCI_INFO_SIZE);
      const pciBusId =
        getPciInfo(handle[0], pci) === NVML_SUCCESS
          ? cString(pci.subarray(NVML_PCI_BUS_ID_OFFSET)) || null
          : null;
      const memory = Buffer.alloc(NVML_MEMORY_SIZE);
      const memoryTotalBytes =
        getMemoryInfo(handle[0], memory) === NVML_SUCCESS
          ? Number(memory.readBigUInt64LE(0))
          : null;
      const c2c = [0];
      const moduleScope =
        getC2cMode && getC2cMode(handle[0], c2c) === NVML_SUCCESS
          ? c2c[0] === 1
          : MODULE_NAMES.test(name);
      infos.push({
        index,
        name,
        uuid,
        pciBusId,
        memoryTotalBytes,
        mig: migInstances(handle[0]),
        moduleScope,
      });
    }

    const optional = (code: number, value: number, call: string): number | null => {
      if (code === NVML_SUCCESS) return value;
      if (code === NVML_ERROR_NOT_SUPPORTED) return null;
      throw new Error(`${call} failed: ${describe(code)}`);
    };
    const handleOf = (index: number): unknown => {
      const handle = handles[index];
      if (handle === undefined) throw new Error(`no GPU with NVML index ${index}`);
      return handle;
    };
    const memory = Buffer.alloc(NVML_MEMORY_SIZE);
    return {
      description: `${loadedFrom}, driver ${driver}`,
      devices: () => infos,
      async readEnergy(index: number): Promise<number | null> {
        const energy = [0];
        return optional(
          getEnergy(handleOf(index), energy),
          Number(energy[0]),
          "nvmlDeviceGetTotalEnergyConsumption",
        );
      },
      async read(index: number): Promise<NvmlReading> {
        const handle = handleOf(index);
        const energy = [0];
        const power = [0];
        const temperature = [0];
        const energyMj = optional(
          getEnergy(handle, energy),
          Number(energy[0]),
          "nvmlDeviceGetTotalEnergyConsumption",
        );
        const powerMw = optional(
          getPower(handle, power),
          Number(power[0]),
          "nvmlDeviceGetPowerUsage",
        );
        const temperatureC = optional(
          getTemperature(handle, NVML_TEMPERATURE_GPU, temperature),
          Number(temperature[0]),
          "nvmlDeviceGetTemperature",
        );
        const memoryUsed =
          getMemoryInfo(handle, memory) === NVML_SUCCESS
            ? Number(memory.readBigUInt64LE(16))
            : null;
        return {
          energy_mj: energyMj,
          power_w: powerMw === null ? null : powerMw / 1000,
          temperature_c: temperatureC,
          memory_used_bytes: memoryUsed,
        };
      },
      close() {
        nvmlShutdown();
      },
    };
  } catch (error) {
    nvmlShutdown();
    throw error;
  }
}
