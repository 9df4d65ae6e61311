/**
 * Timers for waits of any length. Node's setTimeout holds at most 2^31−1 ms (24.8 days); a longer
 * delay fires after 1 ms instead (with only a TimeoutOverflowWarning), which would fail every
 * experiment at once for `experiment_timeout_seconds: 2147484` and skip a 30-day gap. Here a long
 * delay is scheduled in steps of at most that limit:
 *
 *   setLongTimeout(fire, 30 * 86_400_000)   fires after 30 days (two steps), not after 1 ms
 *   await waitSeconds(45, signal)           true after 45 s; false at once if `signal` aborts
 */

/** The longest delay one setTimeout holds. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `fire` once, `ms` from now however large; returns a function that cancels it. */
export function setLongTimeout(fire: () => void, ms: number): () => void {
  const due = Date.now() + ms;
  let timer: NodeJS.Timeout | undefined;
  const arm = (remaining: number) => {
    timer = setTimeout(
      () => {
        const left = due - Date.now();
        if (remaining > MAX_TIMER_MS && left > 0) arm(left);
        else fire();
      },
      Math.min(Math.max(remaining, 0), MAX_TIMER_MS),
    );
  };
  arm(ms);
  return () => clearTimeout(timer);
}

/** Waits `seconds`; true when the time is up, false as soon as `signal` aborts. */
export function waitSeconds(seconds: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (seconds <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = () => {
      cancel();
      resolve(false);
    };
    const cancel = setLongTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, seconds * 1000);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
