/**
 * Writes to a Bun socket with backpressure: `socket.write` may take only part of a buffer; the
 * rest waits here until `drain`, and `congested` tells the other side to pause its reads.
 * Bounded by the pausing: a producer is paused as soon as anything is queued.
 */
import type { Socket } from "bun";

export class Outbox {
  #queue: Uint8Array[] = [];
  #ending = false;
  #closed = false;
  /** Called once the queue is empty again after being congested. */
  onDrained: (() => void) | undefined;

  constructor(readonly socket: Socket<unknown>) {}

  get congested(): boolean {
    return this.#queue.length > 0;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Queues or writes `bytes`; returns false when the caller should pause its source. */
  send(bytes: Uint8Array): boolean {
    if (this.#closed || this.#ending || bytes.length === 0) return !this.#closed;
    if (this.#queue.length > 0) {
      this.#queue.push(bytes);
      return false;
    }
    const n = this.socket.write(bytes);
    if (n >= bytes.length) return true;
    this.#queue.push(n > 0 ? bytes.subarray(n) : bytes);
    return false;
  }

  /** Ends the socket after everything queued is written. */
  end(): void {
    if (this.#closed) return;
    this.#ending = true;
    if (this.#queue.length === 0) {
      this.#closed = true;
      this.socket.end();
    }
  }

  /** Call from the socket's `drain` handler. */
  drain(): void {
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      const n = this.socket.write(head);
      if (n < head.length) {
        this.#queue[0] = head.subarray(Math.max(n, 0));
        return;
      }
      this.#queue.shift();
    }
    if (this.#ending) {
      this.#closed = true;
      this.socket.end();
      return;
    }
    this.onDrained?.();
  }

  markClosed(): void {
    this.#closed = true;
    this.#queue = [];
  }
}
