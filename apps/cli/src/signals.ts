/**
 * Ctrl-C and SIGTERM during a study: the first aborts `signal` (the study stops the current
 * experiment cleanly), the second aborts `forceKill` (its process group is killed), a third exits
 * at once — the manifest is written atomically, so even that leaves nothing torn.
 */
export interface InterruptHandling {
  signal: AbortSignal;
  forceKill: AbortSignal;
  readonly count: number;
  dispose(): void;
}

export function handleInterrupts(notice: (text: string) => void): InterruptHandling {
  const stop = new AbortController();
  const kill = new AbortController();
  let count = 0;
  const onSignal = (name: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      notice(`\n${name}: stopping the current experiment cleanly (press Ctrl-C again to kill it)`);
      stop.abort();
    } else if (count === 2) {
      notice(`${name}: killing the current experiment`);
      kill.abort();
    } else {
      process.exit(130);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: stop.signal,
    forceKill: kill.signal,
    get count() {
      return count;
    },
    dispose() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}
