/**
 * Child process of bench/ringbuf.ts: runs the program whose fd it inherited as fd 3 through
 * BPF_PROG_TEST_RUN, `batch` repetitions per call, paced to `rate` runs/s (0 = as fast as it
 * can) for `ms` milliseconds; prints {runs, elapsedMs} as JSON. Pacing is a token bucket holding
 * at most 2 ms of runs: after being descheduled it does not burst to catch up, so a round
 * measures the sustained rate, not how a backlog fits in the ring. It prints `ready` once started
 * and waits for a line on stdin before producing, so its own start-up is not part of a round.
 *   bun bench/_ringbuf-producer.ts RATE MS BATCH
 */
import { progTestRun } from "../src/kernel/libbpf/syscalls.ts";

const [rate, ms, batch] = process.argv.slice(2).map(Number) as [number, number, number];
const PROG_FD = 3;
const packet = new Uint8Array(64); // an Ethernet frame's worth of zeros: enough for a tc program

console.log("ready");
await Bun.stdin.stream().getReader().read();

const maxTokens = Math.max(batch, rate * 0.002);
let tokens = batch;
let runs = 0;
const start = performance.now();
let last = start;
for (;;) {
  const now = performance.now();
  if (now - start >= ms) break;
  if (rate > 0) {
    tokens = Math.min(maxTokens, tokens + ((now - last) / 1000) * rate);
    last = now;
    if (tokens < batch) {
      Bun.sleepSync(Math.min(1, ((batch - tokens) / rate) * 1000));
      continue;
    }
    tokens -= batch;
  }
  progTestRun(PROG_FD, { dataIn: packet, repeat: batch });
  runs += batch;
}
console.log(JSON.stringify({ runs, elapsedMs: performance.now() - start }));
