/**
 * The life of a server stream (Workload API §4.3): the first response at once, then a new
 * complete response whenever an event (timer, identity change, bundle change) makes the
 * evaluation produce one. Evaluations never overlap; events arriving meanwhile coalesce into one
 * more run. Everything is released when the call ends, whatever ends it.
 */
import type { UpdateHub, UpdateReason, WorkloadCall } from "./context.ts";

export type StreamReason = "initial" | "timer" | UpdateReason;

export interface StreamStep {
  /** A full response to send; undefined when nothing changed. */
  message?: Uint8Array;
  /** Evaluate again at this time (ms epoch) even without an event. */
  nextAt?: number;
}

/** Smallest pause between timer-driven evaluations, so a broken CA cannot make a busy loop. */
const MIN_TIMER_MS = 500;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Resolves when the client goes away; rejects with what `evaluate` threw (the stream's status). */
export function runStream(call: WorkloadCall, updates: UpdateHub, send: (message: Uint8Array) => void, evaluate: (reason: StreamReason) => Promise<StreamStep>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = false;
    let pending: StreamReason | undefined;
    let done = false;

    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe();
      call.signal.removeEventListener("abort", onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = () => finish();

    const step = async (reason: StreamReason): Promise<void> => {
      if (done) return;
      if (running) {
        pending = reason;
        return;
      }
      running = true;
      clearTimeout(timer);
      try {
        const result = await evaluate(reason);
        if (done) return;
        if (result.message) send(result.message);
        if (result.nextAt !== undefined) {
          const delay = Math.min(MAX_TIMER_MS, Math.max(MIN_TIMER_MS, result.nextAt - Date.now()));
          timer = setTimeout(() => void step("timer"), delay);
        }
      } catch (err) {
        finish(err);
        return;
      } finally {
        running = false;
      }
      if (pending !== undefined && !done) {
        const next = pending;
        pending = undefined;
        void step(next);
      }
    };

    if (call.signal.aborted) return resolve();
    call.signal.addEventListener("abort", onAbort, { once: true });
    const unsubscribe = updates.subscribe((reason) => void step(reason));
    void step("initial");
  });
}
