/**
 * Two network namespaces joined by a veth pair, for the TC/XDP tests: addresses exist only inside
 * them. `withNetns` runs a synchronous function with the calling (JS) thread inside a namespace,
 * which is how the interface guard is attached there (tcx, XDP and if_nameindex all act on the
 * calling thread's namespace); the thread is switched back before it returns.
 */
import { closeSync, openSync } from "node:fs";
import { libc } from "../../../src/kernel/libbpf/libc.ts";

const CLONE_NEWNET = 0x40000000;

function ip(...args: string[]): void {
  const r = Bun.spawnSync(["ip", ...args], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.toString().trim()}`);
}

export interface VethPair {
  /** netns names (under /run/netns). */
  readonly a: string;
  readonly b: string;
  /** veth ends: vethA lives in a, vethB in b. */
  readonly vethA: string;
  readonly vethB: string;
  remove(): void;
}

/** a (addrA) ⟷ b (addrsB; the first is primary), each /24, plus nodad IPv6 addresses. */
export function createVethPair(tag: string, addrA: string, addrsB: readonly string[]): VethPair {
  const a = `sl-a-${tag}`;
  const b = `sl-b-${tag}`;
  const vethA = `sla${tag}`.slice(0, 15);
  const vethB = `slb${tag}`.slice(0, 15);
  const pair: VethPair = {
    a,
    b,
    vethA,
    vethB,
    remove() {
      for (const ns of [a, b]) Bun.spawnSync(["ip", "netns", "del", ns], { stdout: "ignore", stderr: "ignore" });
    },
  };
  try {
    ip("netns", "add", a);
    ip("netns", "add", b);
    ip("link", "add", vethA, "netns", a, "type", "veth", "peer", "name", vethB, "netns", b);
    ip("-n", a, "addr", "add", `${addrA}/24`, "dev", vethA);
    for (const addr of addrsB) ip("-n", b, "addr", "add", `${addr}/24`, "dev", vethB);
    for (const [ns, dev] of [[a, vethA], [b, vethB]] as const) {
      ip("-n", ns, "link", "set", dev, "up");
      ip("-n", ns, "link", "set", "lo", "up");
    }
  } catch (err) {
    pair.remove();
    throw err;
  }
  return pair;
}

/** Runs `fn` with this thread in network namespace `name`, then switches back. */
export function withNetns<T>(name: string, fn: () => T): T {
  const home = openSync("/proc/thread-self/ns/net", "r");
  const target = openSync(`/run/netns/${name}`, "r");
  try {
    if (libc().setns(target, CLONE_NEWNET) !== 0) throw new Error(`setns(${name}) failed`);
    try {
      return fn();
    } finally {
      if (libc().setns(home, CLONE_NEWNET) !== 0) throw new Error("setns back to the original network namespace failed");
    }
  } finally {
    closeSync(target);
    closeSync(home);
  }
}

/** argv that runs `argv` inside netns `name` (network namespace only: bpffs and cgroupfs stay visible). */
export function inNetns(name: string, argv: readonly string[]): string[] {
  return ["nsenter", `--net=/run/netns/${name}`, "--", ...argv];
}
