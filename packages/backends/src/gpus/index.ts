export { type GivenGpus, givenGpus } from "./given-gpus.js";
export {
  gpuProcessEnv,
  type Inventory,
  machineGpus,
  type PlaceOptions,
  placeExperiment,
} from "./place.js";
export {
  type GpuPlacement,
  type PlacedGpu,
  pciOrder,
  placementWithoutNvml,
  type ResolveGpusOptions,
  resolveGpus,
} from "./resolve.js";
