import type { Scheduler, TickerHandle } from "./types.js";

/** Monotonic milliseconds; wall-clock time can jump (NTP), a window's length must not. */
export const monotonicNow = (): number => performance.now();

/**
 * Ticks on a fixed grid (start + k × interval) rather than "interval after the last tick", so the
 * period does not drift by the tick's own cost. A tick that is still running when the next is due
 * makes the loop skip grid slots instead of piling up calls; the skipped slots show up as gaps in
 * the samples, which the samplers report.
 *
 * The timer is unref'd: a sampler someone forgot to stop must not keep the process alive.
 */
export const timerScheduler: Scheduler = (intervalMs, onTick): TickerHandle => {
  const startedAt = performance.now();
  let slot = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;

  const scheduleNext = (): void => {
    if (stopped) return;
    const now = performance.now();
    slot += 1;
    if (startedAt + slot * intervalMs < now) slot = Math.ceil((now - startedAt) / intervalMs);
    timer = setTimeout(run, startedAt + slot * intervalMs - now);
    timer.unref();
  };

  const run = (): void => {
    if (stopped) return;
    let result: void | Promise<void>;
    try {
      result = onTick();
    } catch {
      // A failed tick is a missing sample, never a crash of the experiment.
      result = undefined;
    }
    if (result instanceof Promise) {
      inFlight = result
        .catch(() => undefined)
        .finally(() => {
          inFlight = undefined;
          scheduleNext();
        });
    } else {
      scheduleNext();
    }
  };

  scheduleNext();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (inFlight) await inFlight;
    },
  };
};
