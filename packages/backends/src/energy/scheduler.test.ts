import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { timerScheduler } from "./scheduler.js";

describe("timerScheduler", () => {
  it("never runs two ticks at once, and stop() waits for the one in progress", async () => {
    let running = 0;
    let maxRunning = 0;
    let finished = 0;
    const handle = timerScheduler(5, async () => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await sleep(20); // slower than the interval: later slots must be skipped, not queued
      running -= 1;
      finished += 1;
    });
    while (running === 0) await sleep(2);
    await handle.stop();
    expect(running).toBe(0);
    expect(maxRunning).toBe(1);
    const after = finished;
    await sleep(40);
    expect(finished).toBe(after);
  });

  it("keeps ticking after a tick throws (a failed read is a missing sample)", async () => {
    let ticks = 0;
    const handle = timerScheduler(2, () => {
      ticks += 1;
      if (ticks === 1) throw new Error("sensor hiccup");
    });
    while (ticks < 3) await sleep(2);
    await handle.stop();
    expect(ticks).toBeGreaterThanOrEqual(3);
  });

  it("does not keep the process alive on its own (its timer is unref'd)", async () => {
    const refTimers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = refTimers();
    const handle = timerScheduler(50, () => undefined);
    expect(refTimers()).toBe(before);
    await handle.stop();
  });
});
