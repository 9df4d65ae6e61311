/**
 * The process environment the llamacpp engine runs best in, and what this process got.
 *
 * node-llama-cpp runs every native call (`decodeBatch`, `sampleToken`) on libuv's thread pool,
 * whose size (`UV_THREADPOOL_SIZE`, default 4) is read once, before any module code runs (Node's
 * ESM loader already uses the pool), so only the parent of a process can set it. With an OpenMP
 * build of llama.cpp, each pool thread that calls `llama_decode` gets its own OpenMP team; with 4
 * pool threads the decodes rotate over up to 4 teams, libgomp then counts more of its threads than
 * CPUs and cuts its spin-wait to ~100 iterations, so every token pays for waking a sleeping team
 * member. On the 2-core VM that made 2-thread generation 1.5–1.8× slower (docs/engine-performance.md).
 * With one pool thread every decode comes from the same thread, the team stays hot as in
 * llama-bench.
 */
export const LLAMACPP_PROCESS_ENV: Readonly<Record<string, string>> = { UV_THREADPOOL_SIZE: "1" };

/**
 * `base` with LLAMACPP_PROCESS_ENV added where `base` does not set the variable itself: the env to
 * start a process that will run the llamacpp engine with (a study's experiment worker, a bench).
 */
export function llamaCppProcessEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = { ...base };
  for (const [name, value] of Object.entries(LLAMACPP_PROCESS_ENV)) env[name] ??= value;
  return env;
}

// Read when this module is first evaluated, which is after libuv sized its pool from the same
// variable; a later change to process.env cannot resize the pool, so it must not change the answer.
const threadpoolSizeAtStartup = parseThreadpoolSize(process.env.UV_THREADPOOL_SIZE);

/**
 * libuv's rule (`init_threads`): unset means 4; otherwise `atoi`, where 0 (or text that is not a
 * number) means 1, and the size is capped at 1024 (a negative number wraps to a huge unsigned one).
 */
export function parseThreadpoolSize(value: string | undefined): number {
  if (value === undefined) return 4;
  const parsed = Number.parseInt(value.trimStart(), 10);
  if (Number.isNaN(parsed) || parsed === 0) return 1;
  return parsed < 0 ? 1024 : Math.min(parsed, 1024);
}

/** The size of this process's libuv thread pool. */
export function libuvThreadpoolSize(): number {
  return threadpoolSizeAtStartup;
}
