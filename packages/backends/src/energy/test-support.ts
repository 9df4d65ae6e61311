import type { Scheduler, TickerHandle } from "./types.js";

/**
 * A scheduler that ticks only when a test says so, with a virtual clock: the recorded sequence
 * drives the very sampler code a live run uses, without waiting in real time.
 */
export function manualClock(startMs = 0): {
  now: () => number;
  scheduler: Scheduler;
  /** Advances the clock by `ms` and runs one tick (if the loop is running). */
  tick(ms: number): Promise<void>;
  /** Advances the clock without a tick: a stalled loop, i.e. a gap. */
  skip(ms: number): void;
  /** A sleep that advances the virtual clock (the counter's update-period detection polls with it). */
  sleep(ms: number): Promise<void>;
} {
  let time = startMs;
  let onTick: (() => void | Promise<void>) | undefined;
  const scheduler: Scheduler = (_intervalMs, callback): TickerHandle => {
    onTick = callback;
    return {
      async stop() {
        onTick = undefined;
      },
    };
  };
  return {
    now: () => time,
    scheduler,
    async tick(ms: number) {
      time += ms;
      await onTick?.();
    },
    skip(ms: number) {
      time += ms;
    },
    async sleep(ms: number) {
      time += ms;
    },
  };
}
