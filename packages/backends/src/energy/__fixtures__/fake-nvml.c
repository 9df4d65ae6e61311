/*
 * A stand-in for libnvidia-ml with the same C signatures, compiled by the tests to exercise the
 * FFI binding (out-parameters, 64-bit counters, opaque handles, string buffers, structs) on a
 * machine without a GPU. It is NOT a GPU and its figures are NOT recordings: they are rules,
 * written down here so the tests can check them exactly.
 *
 * Devices 0 and 1 always exist:
 *   0 "Fake H100": the energy counter (above 2^32 mJ) advances +1000 mJ per read; 250.5 W, 61 C.
 *   1 "Fake P100": "pre-Volta", no energy counter; 123.456 W, 47 C.
 * With FAKE_NVML_DEVICES=4 in the environment (read at nvmlInit), two more:
 *   2 "Fake H200", 3 "Fake H200": counters driven by the monotonic clock, updated every 100 ms
 *     (like NVML's ~100 ms update period) at 300 W and 150 W; device 3 is in MIG mode with two
 *     instances. Device 2 reports C2C on (a Grace Hopper-like module).
 * PCI bus ids are in index order (00000000:1X:00.0); memory: 80 GiB total, 1 GiB + 1 MiB per read used.
 * Handles are checked, so a marshalling slip fails.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct nvmlDevice_st { int index; int mig; } *nvmlDevice_t;
static struct nvmlDevice_st devices[4] = {{0, -1}, {1, -1}, {2, -1}, {3, -1}};
static struct nvmlDevice_st migs[2] = {{3, 0}, {3, 1}};
static unsigned long long counter = 5000000000000ULL;
static unsigned long long memory_reads = 0;
static int initialised = 0;
static unsigned int device_count = 2;
static double started_ms = 0;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

int nvmlInit_v2(void) {
  const char *count = getenv("FAKE_NVML_DEVICES");
  device_count = count && strcmp(count, "4") == 0 ? 4 : 2;
  if (!initialised) started_ms = now_ms();
  initialised = 1;
  return 0;
}
int nvmlShutdown(void) { initialised = 0; return 0; }
const char *nvmlErrorString(int result) { return result == 3 ? "Not Supported" : "Invalid Argument"; }
int nvmlSystemGetDriverVersion(char *version, unsigned int length) {
  strncpy(version, "999.99.fake", length);
  return 0;
}
int nvmlDeviceGetCount_v2(unsigned int *count) {
  if (!initialised) return 1;
  *count = device_count;
  return 0;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
  if (index >= device_count) return 2;
  *device = &devices[index];
  return 0;
}
static int valid(nvmlDevice_t device) {
  for (unsigned int i = 0; i < device_count; i++) if (device == &devices[i]) return 1;
  return 0;
}
static int valid_mig(nvmlDevice_t device) { return device == &migs[0] || device == &migs[1]; }
int nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
  if (!valid(device)) return 2;
  const char *names[4] = {"Fake H100", "Fake P100", "Fake H200", "Fake H200"};
  strncpy(name, names[device->index], length);
  return 0;
}
int nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length) {
  if (valid_mig(device)) {
    strncpy(uuid, device->mig == 0 ? "MIG-fa4e-3a" : "MIG-fa4e-3b", length);
    return 0;
  }
  if (!valid(device)) return 2;
  const char *uuids[4] = {"GPU-fa4e-0", "GPU-fa4e-1", "GPU-fa4e-2", "GPU-fa4e-3"};
  strncpy(uuid, uuids[device->index], length);
  return 0;
}
typedef struct {
  char busIdLegacy[16];
  unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
  char busId[32];
} nvmlPciInfo_t;
int nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci) {
  if (!valid(device)) return 2;
  memset(pci, 0, sizeof(*pci));
  pci->bus = 0x10 + device->index;
  const char *ids[4] = {"00000000:10:00.0", "00000000:11:00.0", "00000000:12:00.0", "00000000:13:00.0"};
  strncpy(pci->busId, ids[device->index], sizeof(pci->busId));
  return 0;
}
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
int nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory) {
  if (!valid(device)) return 2;
  memory->total = 80ULL << 30;
  memory->used = (1ULL << 30) + (memory_reads++) * (1ULL << 20);
  memory->free = memory->total - memory->used;
  return 0;
}
int nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *energy) {
  if (!valid(device)) return 2;
  if (device->index == 1) return 3;
  if (device->index >= 2) {
    double watts = device->index == 2 ? 300.0 : 150.0;
    /* The counter advances in 100 ms steps: W × 100 ms = 100 × W mJ per step. */
    unsigned long long steps = (unsigned long long)((now_ms() - started_ms) / 100.0);
    *energy = 7000000000ULL + steps * (unsigned long long)(watts * 100.0);
    return 0;
  }
  counter += 1000;
  *energy = counter;
  return 0;
}
int nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power) {
  if (!valid(device)) return 2;
  const unsigned int mw[4] = {250500, 123456, 300000, 150000};
  *power = mw[device->index];
  return 0;
}
int nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int *temp) {
  if (!valid(device) || sensor != 0) return 2;
  const unsigned int c[4] = {61, 47, 55, 52};
  *temp = c[device->index];
  return 0;
}
int nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *current, unsigned int *pending) {
  if (!valid(device)) return 2;
  *current = *pending = device->index == 3 ? 1 : 0;
  return 0;
}
int nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int *count) {
  if (!valid(device)) return 2;
  *count = device->index == 3 ? 7 : 0;
  return 0;
}
int nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index, nvmlDevice_t *mig) {
  if (!valid(device) || device->index != 3) return 2;
  if (index > 1) return 6; /* NVML_ERROR_NOT_FOUND: an empty slot */
  *mig = &migs[index];
  return 0;
}
int nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, unsigned int *id) {
  if (!valid_mig(device)) return 2;
  *id = device->mig == 0 ? 1 : 2;
  return 0;
}
int nvmlDeviceGetComputeInstanceId(nvmlDevice_t device, unsigned int *id) {
  if (!valid_mig(device)) return 2;
  *id = 0;
  return 0;
}
int nvmlDeviceGetC2cModeInfoV(nvmlDevice_t device, unsigned int *c2c) {
  if (!valid(device)) return 2;
  if (device->index < 2) return 3;
  *c2c = device->index == 2 ? 1 : 0;
  return 0;
}
