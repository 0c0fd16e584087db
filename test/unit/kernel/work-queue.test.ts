import { expect, test } from "bun:test";
import { WorkQueue } from "../../../src/kernel/enforcer/work-queue.ts";

test("runs at most `concurrency` at once, queues up to the cap, drops and counts beyond", async () => {
  const q = new WorkQueue(2, 3);
  let running = 0;
  let peak = 0;
  let done = 0;
  const job = () => async () => {
    running++;
    peak = Math.max(peak, running);
    await Bun.sleep(10);
    running--;
    done++;
  };
  for (let i = 0; i < 7; i++) q.push(job());
  await q.idle();
  expect(peak).toBe(2);
  expect(done).toBe(5);
  expect(q.dropped).toBe(2);
});

test("a failing job does not stop the queue", async () => {
  const q = new WorkQueue(1, 10);
  let ran = 0;
  q.push(async () => {
    throw new Error("boom");
  });
  q.push(async () => {
    ran++;
  });
  await q.idle();
  expect(ran).toBe(1);
});
