/**
 * Reads a BPF ring buffer (BPF_MAP_TYPE_RINGBUF) without blocking the event loop: a timer calls
 * ring_buffer__poll with timeout 0, which consumes every record available at that moment on the
 * JS thread, so the JSCallback libbpf invokes needs no thread-safety (a callback invoked from
 * another thread would hang). Each record is copied out before the callback returns (the kernel
 * reuses the space as soon as it does) and handed to `onRecord`.
 *
 * The copy is one libc memcpy into a 1 MiB arena (about twice as fast as building an ArrayBuffer
 * per record); records are views into it, so read them through their byteOffset, and a record a
 * handler keeps keeps its arena alive.
 *
 * Capacity: records the BPF side cannot reserve are dropped there (count them in the program);
 * size the ring for `rate × interval` with margin. Measured: bench/ringbuf.ts.
 */
import { FFIType, JSCallback, ptr, type Pointer } from "bun:ffi";
import type { Logger } from "../log/index.ts";
import { checkPtr } from "./libbpf/check.ts";
import { errnoName } from "./libbpf/errno.ts";
import { libc } from "./libbpf/libc.ts";
import { loadLibbpf } from "./libbpf/load.ts";

const EINTR = 4;
const ECANCELED = 125;
const ARENA_BYTES = 1 << 20;

/** Copies records out of the ring into large arenas; each record is a view of its own bytes. */
class RecordArena {
  #arena = new Uint8Array(ARENA_BYTES);
  #base = ptr(this.#arena);
  #used = 0;
  readonly #memcpy = libc().memcpy;

  copy(data: Pointer, size: number): Uint8Array {
    if (this.#used + size > this.#arena.length) {
      this.#arena = new Uint8Array(Math.max(ARENA_BYTES, size));
      this.#base = ptr(this.#arena);
      this.#used = 0;
    }
    const at = this.#used;
    this.#memcpy((this.#base + at) as Pointer, data, size);
    this.#used = at + ((size + 7) & ~7);
    return this.#arena.subarray(at, at + size);
  }
}

export interface RingBufferReaderOptions {
  /** Called once per record with a copy of its bytes. Exceptions are counted and logged, never rethrown. */
  onRecord(record: Uint8Array): void;
  /** Poll period in ms (default 5). */
  intervalMs?: number;
  logger?: Logger;
  /** Name for messages (the map's). */
  name?: string;
}

export class RingBufferReader {
  readonly name: string;
  #rb: Pointer | undefined;
  #callback: JSCallback | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #polling = false;
  #freeAfterPoll = false;
  #records = 0;
  #handlerErrors = 0;
  readonly #options: RingBufferReaderOptions;

  /** `map`: the ring buffer map (anything with its fd: an ObjectMap, a BpfMap, an adopted pin). */
  constructor(map: { readonly fd: number; readonly name?: string }, options: RingBufferReaderOptions) {
    this.#options = options;
    this.name = options.name ?? map.name ?? `ringbuf fd ${map.fd}`;
    const onRecord = options.onRecord;
    const arena = new RecordArena();
    this.#callback = new JSCallback(
      (_ctx: Pointer, data: Pointer, size: number) => {
        if (this.#freeAfterPoll) return -ECANCELED; // stopped from inside a handler: consume no more
        this.#records++;
        try {
          onRecord(arena.copy(data, size));
        } catch (err) {
          this.#handlerErrors++;
          if (this.#handlerErrors <= 10) options.logger?.warn("ring buffer record handler threw", { ringbuf: this.name, err });
        }
        return 0;
      },
      { args: [FFIType.ptr, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    );
    try {
      this.#rb = checkPtr("ERR_BPF_RINGBUF", "ring_buffer__new", loadLibbpf().sym.ring_buffer__new(map.fd, this.#callback, null, null), { subject: this.name });
    } catch (err) {
      this.#callback.close();
      this.#callback = undefined;
      throw err;
    }
  }

  /** Records handed to onRecord so far. */
  get records(): number {
    return this.#records;
  }

  get handlerErrors(): number {
    return this.#handlerErrors;
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Starts polling every `intervalMs`. */
  start(): this {
    if (this.#rb === undefined) throw new TypeError(`ring buffer reader ${this.name} is stopped`);
    this.#timer ??= setInterval(() => this.poll(), this.#options.intervalMs ?? 5);
    return this;
  }

  /** One ring_buffer__poll(timeout 0): consumes what is there now; returns the number of records. */
  poll(): number {
    return this.#run("ring_buffer__poll", (rb) => loadLibbpf().sym.ring_buffer__poll(rb, 0));
  }

  /** ring_buffer__consume (no epoll) until a round finds nothing (at most `maxRounds`); returns the records consumed. */
  drain(maxRounds = 1000): number {
    let total = 0;
    for (let i = 0; i < maxRounds; i++) {
      const n = this.#run("ring_buffer__consume", (rb) => loadLibbpf().sym.ring_buffer__consume(rb));
      if (n === 0) break;
      total += n;
    }
    return total;
  }

  #run(call: string, fn: (rb: Pointer) => number): number {
    if (this.#rb === undefined || this.#polling) return 0;
    this.#polling = true;
    let n: number;
    try {
      n = fn(this.#rb);
    } finally {
      this.#polling = false;
      if (this.#freeAfterPoll) this.#free();
    }
    if (n < 0 && -n !== EINTR && -n !== ECANCELED) this.#options.logger?.warn(`${call} failed`, { ringbuf: this.name, errno: errnoName(n) });
    return Math.max(n, 0);
  }

  /** Stops the timer, optionally drains what is left, and frees the ring buffer. Idempotent; safe from inside onRecord. */
  stop(options: { drain?: boolean } = {}): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#rb === undefined) return;
    if (this.#polling) {
      this.#freeAfterPoll = true;
      return;
    }
    if (options.drain) this.drain();
    this.#free();
  }

  #free(): void {
    this.#freeAfterPoll = false;
    if (this.#rb !== undefined) loadLibbpf().sym.ring_buffer__free(this.#rb);
    this.#rb = undefined;
    this.#callback?.close();
    this.#callback = undefined;
  }
}
