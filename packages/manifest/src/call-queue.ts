/**
 * The store's calls run one at a time, in the order they were made: each waits for the previous
 * one to settle (resolve or reject). A rejected call does not block the ones after it.
 */
export class CallQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `work` after every call queued before it; the result is the caller's to handle. */
  push<T>(work: () => Promise<T> | T): Promise<T> {
    const task = this.tail.then(work);
    this.tail = task.catch(() => {});
    return task;
  }

  /** Like `push`, for work nobody awaits (background flushes): its failure is dropped here. */
  background(work: () => Promise<unknown> | unknown): void {
    this.push(work).catch(() => {});
  }

  /** Settles once every call queued so far has settled. */
  idle(): Promise<void> {
    return this.tail.then(() => {});
  }
}
