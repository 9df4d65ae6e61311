import type { ResultWarning } from "../../metrics/energy.js";
import type { ResultContext } from "../types.js";

/**
 * Warnings about a finished llamacpp experiment, from the settings the engine resolved
 * (`LlamaCppEngine.resolvedSettings()`): when the binary or the process it ran in cost speed that
 * the measured figures now include.
 */

/** Below this median inter-token latency the stepwise loop's per-token cost is worth a warning. */
export const STEPWISE_WARNING_ITL_MS = 2;

export function llamaCppResultWarnings({ settings, itlP50Ms }: ResultContext): ResultWarning[] {
  const warnings: ResultWarning[] = [];
  const threads = Number(settings.threads);
  if (settings.binary === "prebuilt" && threads > 1) {
    warnings.push({
      code: "prebuilt_llama_binary",
      message: `llama.cpp runs from node-llama-cpp's prebuilt binary (built without OpenMP) with ${settings.threads} threads, which can be several times slower than llama.cpp itself; run \`pnpm --filter @llem/backends build:native\` to build it from the bundled source`,
    });
  }
  // One sequence through the stepwise loop pays two native round trips per token; next to a
  // token of a couple of milliseconds or less that is a visible share of what was measured.
  if (
    settings.evaluator === "direct decode loop" &&
    settings.sequences === 1 &&
    itlP50Ms !== null &&
    itlP50Ms < STEPWISE_WARNING_ITL_MS
  ) {
    warnings.push({
      code: "binding_overhead",
      message: `tokens took ${itlP50Ms.toFixed(3)} ms (median) through llem's stepwise loop, which adds two native round trips per token (about 0.08 ms on the project's 2-core VM), so throughput here is partly the binding's; \`pnpm --filter @llem/backends build:native\` gives the native generation loop, as fast as llama.cpp's own llama-bench`,
    });
  }
  if (
    typeof settings.binary === "string" &&
    settings.binary !== "prebuilt" &&
    threads > 1 &&
    Number(settings.libuv_threadpool_size ?? 1) > 1
  ) {
    warnings.push({
      code: "libuv_threadpool",
      message: `llama.cpp (OpenMP build) ran with ${settings.threads} threads in a process whose libuv thread pool has ${settings.libuv_threadpool_size} threads, which made generation up to 1.8× slower on a 2-core machine; start the process with UV_THREADPOOL_SIZE=1 (llamaCppProcessEnv() from @llem/backends)`,
    });
  }
  return warnings;
}
