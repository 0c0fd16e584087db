/** The rotation schedule as a pure function of keys and time. */
import { describe, expect, test } from "bun:test";
import { activeKey, nextRotationTime, planRotation, type KeyTimes } from "../../../src/spiffe/ca/rotation.ts";

const H = 3_600_000;
// TTL 60 h, overlap 10 h, prepare 5 h.
const policy = { ttlMs: 60 * H, overlapMs: 10 * H, prepareMs: 5 * H };
const key = (id: string, createdAt: number, activatedAt?: number): KeyTimes => ({ id, createdAt, notAfter: createdAt + policy.ttlMs, ...(activatedAt === undefined ? {} : { activatedAt }) });

describe("planRotation", () => {
  const cases: [string, KeyTimes[], number, ReturnType<typeof planRotation>][] = [
    ["no keys: create one, active", [], 0, [{ type: "create", activate: true }]],
    ["a young active key: nothing to do", [key("a", 0, 0)], 49 * H, []],
    ["TTL − overlap reached: prepare a successor", [key("a", 0, 0)], 50 * H, [{ type: "create", activate: false }]],
    ["the successor within its prepare period: wait", [key("a", 0, 0), key("b", 50 * H)], 54 * H, []],
    ["the prepare period over: activate it", [key("a", 0, 0), key("b", 50 * H)], 55 * H, [{ type: "activate", id: "b" }]],
    ["the old key expired: remove it", [key("a", 0, 0), key("b", 50 * H, 55 * H)], 60 * H, [{ type: "remove", id: "a" }]],
    ["nothing active, a prepared key with life left: activate it", [key("b", 50 * H)], 70 * H, [{ type: "activate", id: "b" }]],
    ["nothing active, the prepared key almost expired: drop it, start fresh", [key("b", 0)], 55 * H, [{ type: "remove", id: "b" }, { type: "create", activate: true }]],
    ["everything expired (long downtime): remove all, create", [key("a", 0, 0), key("b", 50 * H, 55 * H)], 200 * H, [{ type: "remove", id: "a" }, { type: "remove", id: "b" }, { type: "create", activate: true }]],
  ];
  for (const [name, keys, now, expected] of cases) test(name, () => expect(planRotation(keys, now, policy)).toEqual(expected));

  test("a successor is activated before the active key expires even with a long prepare period", () => {
    const slow = { ...policy, prepareMs: 100 * H };
    expect(planRotation([key("a", 0, 0), key("b", 50 * H)], 60 * H - 1, slow)).toEqual([{ type: "activate", id: "b" }]);
  });

  test("the most recently activated key is the active one", () => {
    expect(activeKey([key("a", 0, 0), key("b", 50 * H, 55 * H)], 56 * H)?.id).toBe("b");
  });
});

describe("nextRotationTime", () => {
  test("when the active key needs a successor", () => expect(nextRotationTime([key("a", 0, 0)], 0, policy)).toBe(50 * H));
  test("when the prepared key activates", () => expect(nextRotationTime([key("a", 0, 0), key("b", 50 * H)], 51 * H, policy)).toBe(55 * H));
  test("when the retired key leaves", () => expect(nextRotationTime([key("a", 0, 0), key("b", 50 * H, 55 * H)], 56 * H, policy)).toBe(60 * H));
});
