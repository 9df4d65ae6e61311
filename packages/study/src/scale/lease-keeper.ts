import type { ManifestStore } from "@llem/manifest";

/**
 * Keeps a worker's lease alive while it runs something: a heartbeat every `heartbeatMs` renews
 * the leases this worker holds. After each heartbeat (and so also on waking from a stop, when the
 * overdue timer fires) the run being watched is checked: once it is no longer this worker's — the
 * lease expired and another worker claimed it, or its attempt changed — its signal aborts, which
 * stops the experiment; the runner then writes nothing for it (runner/run-one.ts).
 *
 * A heartbeat that fails (the lock was busy, or lost while this process was stopped inside the
 * call) is tried again at the next tick; if that keeps failing the lease expires, which is the
 * safe outcome.
 */
export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private watched:
    | { configHash: string; cycle: number; attempt: number; controller: AbortController }
    | undefined;
  private beating = false;

  constructor(
    private readonly store: ManifestStore,
    private readonly heartbeatMs: number,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.beat(), this.heartbeatMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Watches one run (the one this worker executes now). */
  watch(
    run: { configHash: string; cycle: number },
    attempt: number,
  ): { signal: AbortSignal; dispose(): void } {
    const controller = new AbortController();
    const watched = { ...run, attempt, controller };
    this.watched = watched;
    return {
      signal: controller.signal,
      dispose: () => {
        if (this.watched === watched) this.watched = undefined;
      },
    };
  }

  private async beat(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      await this.store.heartbeat();
      const watched = this.watched;
      if (watched === undefined || watched.controller.signal.aborted) return;
      const entry = this.store.entry(watched.configHash, watched.cycle);
      const ours =
        entry?.status === "running" &&
        entry.lease?.worker === this.store.workerId &&
        (entry.attempts ?? 1) === watched.attempt;
      if (!ours) {
        watched.controller.abort(
          new Error(
            `the lease on config_hash ${watched.configHash} cycle ${watched.cycle} (attempt ${watched.attempt}) was lost`,
          ),
        );
      }
    } catch {
      // tried again at the next tick
    } finally {
      this.beating = false;
    }
  }
}
