import { describe, expect, test } from "bun:test";
import { classify, classifyTree } from "../../../src/kernel/classify.ts";
import { PROC_FLAGS } from "../../../src/kernel/layout.ts";

describe("classification: own match wins, else inherit, else unmanaged", () => {
  test("exec refinement", () => {
    expect(classify(7, { workload: 3, flags: PROC_FLAGS.INHERITED })).toEqual({ workload: 7, flags: PROC_FLAGS.REFINED });
    expect(classify(0, { workload: 3, flags: PROC_FLAGS.REFINED })).toEqual({ workload: 3, flags: PROC_FLAGS.INHERITED });
    expect(classify(0, undefined)).toEqual({ workload: 0, flags: 0 });
    expect(classify(0, { workload: 0, flags: 0 })).toEqual({ workload: 0, flags: 0 });
  });
  test("a tree: the agent's curl inherits, a child with its own identity keeps it, its own children inherit that", () => {
    const tree = classifyTree([
      { pid: 40, ppid: 30, own: 0 }, // curl under the agent's shell (listed before its parent)
      { pid: 1, ppid: 0, own: 0 }, // init
      { pid: 10, ppid: 1, own: 5 }, // the agent
      { pid: 30, ppid: 10, own: 0 }, // its shell
      { pid: 50, ppid: 10, own: 9 }, // a helper with its own identity
      { pid: 60, ppid: 50, own: 0 }, // the helper's child
      { pid: 70, ppid: 1, own: 0 }, // unrelated
      { pid: 80, ppid: 999, own: 0 }, // parent already gone
    ]);
    expect(Object.fromEntries([...tree].map(([pid, c]) => [pid, c.workload]))).toEqual({ 40: 5, 1: 0, 10: 5, 30: 5, 50: 9, 60: 9, 70: 0, 80: 0 });
    expect(tree.get(40)!.flags).toBe(PROC_FLAGS.INHERITED);
    expect(tree.get(50)!.flags).toBe(PROC_FLAGS.REFINED);
  });
  test("a self-parented entry (racy /proc read) does not loop", () => {
    expect(classifyTree([{ pid: 5, ppid: 5, own: 0 }]).get(5)).toEqual({ workload: 0, flags: 0 });
  });
});
