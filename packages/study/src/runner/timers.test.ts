import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { gap } from "./schedule.js";
import { MAX_TIMER_MS, setLongTimeout } from "./timers.js";

const DAY_MS = 86_400_000;

describe("waits longer than setTimeout's 24.8-day limit", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("a 30-day gap between experiments is still waiting, not skipped, and stops on abort", async () => {
    const stop = new AbortController();
    let ended: boolean | undefined;
    const waiting = gap(30 * 86_400, stop.signal).then((done) => {
      ended = done;
    });
    await sleep(200);
    expect(ended).toBeUndefined();
    stop.abort();
    await waiting;
    expect(ended).toBe(false);
  });

  it("setLongTimeout fires after the whole delay, in steps of at most the limit", () => {
    vi.useFakeTimers();
    const fire = vi.fn();
    setLongTimeout(fire, 30 * DAY_MS);
    vi.advanceTimersByTime(MAX_TIMER_MS + 1000);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(30 * DAY_MS - MAX_TIMER_MS - 2000);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1000);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it("a cancelled long timeout never fires", () => {
    vi.useFakeTimers();
    const fire = vi.fn();
    const cancel = setLongTimeout(fire, 40 * DAY_MS);
    vi.advanceTimersByTime(MAX_TIMER_MS + 10);
    cancel();
    vi.advanceTimersByTime(40 * DAY_MS);
    expect(fire).not.toHaveBeenCalled();
  });
});
