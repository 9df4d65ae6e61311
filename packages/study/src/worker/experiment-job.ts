import type { WorkerJob } from "../protocol.js";
import type { JobContext } from "./host.js";

/**
 * One study run as an experiment: @llem/backends' `runExperiment` with the attempt's copy of its
 * runner's idle-baseline cache, its base dir, its experiment dir (timeseries.csv unless
 * save_timeseries is off) and the GPUs its worker measures. @llem/backends is imported here, on
 * first use: the process says `ready` before paying for it.
 */
export async function runExperimentJob(job: WorkerJob, context: JobContext): Promise<unknown> {
  const { BaselineCache, runExperiment } = await import("@llem/backends");
  return runExperiment(job.config, {
    signal: context.signal,
    baselineCache: new BaselineCache({
      filePath: job.baselineCacheFile,
      ttlSeconds: job.config.measurement.baseline.cache_ttl_seconds,
    }),
    baseDir: job.baseDir,
    ...(job.gpuDevices ? { samplerOptions: { gpuDevices: job.gpuDevices } } : {}),
    outputDir: job.experimentDir,
    saveTimeseries: job.saveTimeseries,
    ...(job.serverReuse ? { serverReuse: job.serverReuse } : {}),
    ...(job.gpuPlacement === undefined ? {} : { gpuPlacement: job.gpuPlacement }),
    onProgress: (progress) => context.progress(progress.stage, progress.message),
  });
}
