/*
 * A stand-in for libnvidia-ml with the same C signatures, compiled by nvml-koffi.test.ts to test
 * the FFI binding (out-parameters, 64-bit counters, opaque handles, string buffers) on a machine
 * without a GPU. Device 0 has the energy counter (above 2^32 mJ, +1000 mJ per read); device 1 is
 * "pre-Volta" (counter not supported). Handles are checked, so a marshalling slip fails.
 */
#include <string.h>

typedef struct nvmlDevice_st { int index; } *nvmlDevice_t;
static struct nvmlDevice_st devices[2] = {{0}, {1}};
static unsigned long long counter = 5000000000000ULL;
static int initialised = 0;

int nvmlInit_v2(void) { initialised = 1; return 0; }
int nvmlShutdown(void) { initialised = 0; return 0; }
const char *nvmlErrorString(int result) { return result == 3 ? "Not Supported" : "Invalid Argument"; }
int nvmlSystemGetDriverVersion(char *version, unsigned int length) {
  strncpy(version, "999.99.fake", length);
  return 0;
}
int nvmlDeviceGetCount_v2(unsigned int *count) { if (!initialised) return 1; *count = 2; return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
  if (index > 1) return 2;
  *device = &devices[index];
  return 0;
}
static int valid(nvmlDevice_t device) { return device == &devices[0] || device == &devices[1]; }
int nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
  if (!valid(device)) return 2;
  strncpy(name, device->index == 0 ? "Fake H100" : "Fake P100", length);
  return 0;
}
int nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length) {
  if (!valid(device)) return 2;
  strncpy(uuid, device->index == 0 ? "GPU-fake-0" : "GPU-fake-1", length);
  return 0;
}
int nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *energy) {
  if (!valid(device)) return 2;
  if (device->index == 1) return 3;
  counter += 1000;
  *energy = counter;
  return 0;
}
int nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power) {
  if (!valid(device)) return 2;
  *power = device->index == 0 ? 250500 : 123456;
  return 0;
}
int nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int *temp) {
  if (!valid(device) || sensor != 0) return 2;
  *temp = device->index == 0 ? 61 : 47;
  return 0;
}
