import type { WorkerJob } from "../protocol.js";
import type { JobContext } from "./host.js";

/**
 * One study run as an experiment: @llem/backends' `runExperiment` with the study's shared idle
 * baseline cache, its base dir and its experiment dir (timeseries.csv unless save_timeseries is
 * off). @llem/backends is imported here, on first use: the process says `ready`
 * before paying for it.
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
    outputDir: job.experimentDir,
    saveTimeseries: job.saveTimeseries,
    ...(job.serverReuse ? { serverReuse: job.serverReuse } : {}),
    onProgress: (progress) => context.progress(progress.stage, progress.message),
  });
}
