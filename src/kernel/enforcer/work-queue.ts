/**
 * Bounded asynchronous work for kernel events: at most `concurrency` jobs run at once and at most
 * `maxQueued` wait; beyond that, jobs are dropped and counted (an exec storm must not exhaust
 * memory or file descriptors). A dropped EXEC refinement leaves the process with what it
 * inherited, the safe default; the next policy apply rescans every process.
 */
export class WorkQueue {
  #running = 0;
  readonly #queue: (() => Promise<void>)[] = [];
  dropped = 0;

  constructor(
    readonly concurrency = 32,
    readonly maxQueued = 10_000,
  ) {}

  push(job: () => Promise<void>): void {
    if (this.#running < this.concurrency) this.#run(job);
    else if (this.#queue.length < this.maxQueued) this.#queue.push(job);
    else this.dropped++;
  }

  /** Resolves when nothing runs or waits (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#running > 0 || this.#queue.length > 0) await Bun.sleep(5);
  }

  #run(job: () => Promise<void>): void {
    this.#running++;
    void job()
      .catch(() => {})
      .finally(() => {
        this.#running--;
        const next = this.#queue.shift();
        if (next) this.#run(next);
      });
  }
}
