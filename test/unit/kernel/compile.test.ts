/** PolicySnapshot → kernel map contents: push-down, families, services, hosts, modes, limits, ids, exe. */
import { describe, expect, test } from "bun:test";
import {
  compileKernelPolicy,
  hostnamesIn,
  InMemoryWorkloadIds,
  KernelCompileError,
  simulateKernelDecision,
  type KernelPolicy,
  type LpmEntry,
  type StatExeFn,
} from "../../../src/kernel/compile/index.ts";
import { PROTO_MASK, RANGE_FLAGS, WL_FLAGS, toKernelDev } from "../../../src/kernel/layout.ts";
import type { PolicySnapshot } from "../../../src/policy/index.ts";
import { build } from "../policy/helpers.ts";

const TD = "spiffe://sluice.local";
const doc = (kind: string, name: string, spec: string) => `apiVersion: sluice/v1alpha1\nkind: ${kind}\nmetadata: {name: ${name}}\nspec:\n${spec}`;
const workload = (name: string, egress: string, extra = "") =>
  doc("WorkloadIdentity", name, `  workloadID: ${name}\n  selectors: [{process:uid: 1000}]\n${extra}  egress:\n${egress}`);

function snapshot(...docs: string[]): PolicySnapshot {
  const r = build({ "p.yaml": docs.join("\n---\n") });
  if (!r.snapshot) throw new Error(r.diagnostics.map((d) => `${d.line}: ${d.message}`).join("\n"));
  return r.snapshot;
}

const noResolve = () => undefined;
const noExe: StatExeFn = () => undefined;

function compile(s: PolicySnapshot, opts: Partial<Parameters<typeof compileKernelPolicy>[1]> = {}): KernelPolicy {
  return compileKernelPolicy(s, { ids: new InMemoryWorkloadIds(), resolve: noResolve, statExe: noExe, ...opts });
}

const entry = (list: readonly LpmEntry[], cidr: string, workload = 1) => list.find((e) => e.cidr === cidr && e.workload === workload);

describe("push-down", () => {
  test("a /16 port 5432 rule and a /24 port 443 rule: the /24 allows both ports", () => {
    const k = compile(snapshot(workload("claude", "    - cidr: 10.20.0.0/16\n      ports: [5432]\n      protocol: tcp\n    - cidr: 10.20.30.0/24\n      ports: [443]\n      protocol: tcp\n")));
    expect(entry(k.rulesV4, "10.20.0.0/16")!.value.ranges).toEqual([{ lo: 5432, hi: 5432, protoMask: PROTO_MASK.TCP }]);
    expect(entry(k.rulesV4, "10.20.30.0/24")!.value.ranges).toEqual([
      { lo: 443, hi: 443, protoMask: PROTO_MASK.TCP },
      { lo: 5432, hi: 5432, protoMask: PROTO_MASK.TCP },
    ]);
    expect(simulateKernelDecision(k, 1, "10.20.30.7", 5432, "tcp").verdict).toBe("allow");
    expect(simulateKernelDecision(k, 1, "10.20.30.7", 443, "tcp").verdict).toBe("allow");
    expect(simulateKernelDecision(k, 1, "10.20.31.7", 443, "tcp").verdict).toBe("deny");
    expect(simulateKernelDecision(k, 1, "10.20.30.7", 5432, "udp").verdict).toBe("deny");
  });

  test("rules without ports become all_ports_mask bits; identical ranges share one range", () => {
    const k = compile(
      snapshot(workload("claude", "    - cidr: 10.0.0.0/8\n      protocol: udp\n    - cidr: 10.1.0.0/16\n      ports: [53, 80]\n    - cidr: 10.1.2.0/24\n      ports: [80]\n      protocol: tcp\n")),
    );
    const v = entry(k.rulesV4, "10.1.2.0/24")!.value;
    expect(v.allPortsMask).toBe(PROTO_MASK.UDP);
    expect(v.ranges).toEqual([
      { lo: 53, hi: 53, protoMask: PROTO_MASK.TCP | PROTO_MASK.OTHER },
      { lo: 80, hi: 80, protoMask: PROTO_MASK.TCP | PROTO_MASK.OTHER },
    ]);
  });

  test("prefixes of another workload are not pushed down", () => {
    const k = compile(snapshot(workload("a", "    - cidr: 10.0.0.0/8\n"), workload("b", "    - cidr: 10.1.0.0/16\n      ports: [22]\n")));
    expect(entry(k.rulesV4, "10.1.0.0/16", 2)!.value).toMatchObject({ allPortsMask: 0, ranges: [{ lo: 22, hi: 22 }] });
    expect(simulateKernelDecision(k, 2, "10.1.0.1", 80, "tcp").verdict).toBe("deny");
    expect(simulateKernelDecision(k, 1, "10.1.0.1", 80, "tcp").verdict).toBe("allow");
  });
});

describe("families", () => {
  test("IPv6 prefixes go to the v6 trie; v4-mapped rules and destinations use the v4 trie", () => {
    const k = compile(snapshot(workload("claude", '    - cidr: 2001:db8::/32\n      ports: [443]\n    - cidr: "::ffff:192.168.0.0/112"\n      ports: [80]\n')));
    expect(k.rulesV6.map((e) => e.cidr)).toEqual(["2001:db8::/32"]);
    expect(k.rulesV4.map((e) => e.cidr)).toEqual(["192.168.0.0/16"]);
    expect(k.rulesV6[0]!.addr).toEqual(new Uint8Array([0x20, 0x01, 0x0d, 0xb8, ...Array(12).fill(0)]));
    expect(simulateKernelDecision(k, 1, "2001:db8::1", 443, "tcp").verdict).toBe("allow");
    expect(simulateKernelDecision(k, 1, "::ffff:192.168.3.4", 80, "tcp").verdict).toBe("allow");
    expect(simulateKernelDecision(k, 1, "192.168.3.4", 80, "tcp").verdict).toBe("allow");
    expect(simulateKernelDecision(k, 1, "2001:db9::1", 443, "tcp").verdict).toBe("deny");
  });
});

describe("services and hosts", () => {
  const SERVICES = [
    doc("Service", "mcp", "  addresses: [{address: mcp.example.com, port: 443}, {address: 10.20.1.7, port: 8443}, {address: \"2001:db8::7\", port: 8443}]\n  labels: {app: mcp}\n"),
    doc("Service", "db", "  addresses: [{address: 10.20.1.5, port: 5432}]\n  labels: {app: db}\n"),
  ];

  test("services by label: IP literals directly, host names resolved, each with its own port", () => {
    const s = snapshot(workload("claude", "    - services: {app: mcp}\n      protocol: tcp\n"), ...SERVICES);
    expect(hostnamesIn(s)).toEqual(["mcp.example.com"]);
    const k = compile(s, { resolve: (h) => (h === "mcp.example.com" ? { v4: ["203.0.113.9"], v6: ["2001:db8::99"] } : undefined) });
    expect(k.warnings).toEqual([]);
    expect(k.rulesV4.map((e) => [e.cidr, e.value.ranges])).toEqual([
      ["10.20.1.7/32", [{ lo: 8443, hi: 8443, protoMask: PROTO_MASK.TCP }]],
      ["203.0.113.9/32", [{ lo: 443, hi: 443, protoMask: PROTO_MASK.TCP }]],
    ]);
    expect(k.rulesV6.map((e) => e.cidr)).toEqual(["2001:db8::7/128", "2001:db8::99/128"]);
    expect(simulateKernelDecision(k, 1, "10.20.1.5", 5432, "tcp").verdict).toBe("deny");
    expect(k.ruleTable).toEqual([{ ruleId: 1, workload: 1, rule: s.workloads()[0]!.egress[0]! }]);
    expect(k.rulesV4[0]!.value.ruleId).toBe(1);
  });

  test("an unresolvable host or Service name is a warning and allows nothing", () => {
    const s = snapshot(workload("claude", "    - host: gone.example.com\n      ports: [443]\n    - services: {app: mcp}\n"), ...SERVICES);
    const k = compile(s, { resolve: (h) => (h === "gone.example.com" ? { v4: [], v6: [] } : undefined) });
    expect(k.warnings.map((w) => w.code)).toEqual(["unresolved-host", "unresolved-host"]);
    expect(k.warnings[0]!.message).toBe(
      "spiffe://sluice.local/claude: p.yaml:8 (host: gone.example.com, ports: [443]): gone.example.com did not resolve to any address; the kernel allows nothing for it until it does",
    );
    expect(k.warnings[1]!.message).toContain('Service "mcp"');
    expect(k.rulesV4.map((e) => e.cidr)).toEqual(["10.20.1.7/32"]);
  });

  test("host rules take the resolved addresses with the rule's ports; junk from the resolver is ignored", () => {
    const s = snapshot(workload("claude", "    - host: api.example.com\n      ports: [443, 8443]\n"));
    const k = compile(s, { resolve: () => ({ v4: ["198.51.100.1", "not-an-ip"], v6: ["::ffff:198.51.100.2"] }) });
    expect(k.warnings.map((w) => w.code)).toEqual(["bad-address"]);
    expect(k.rulesV4.map((e) => e.cidr)).toEqual(["198.51.100.1/32", "198.51.100.2/32"]);
    expect(k.rulesV6).toEqual([]);
  });
});

describe("HostPolicy", () => {
  const host = (mode: string) => doc("HostPolicy", "host", `  unmanaged: ${mode}\n  alwaysAllow:\n    - cidr: 127.0.0.53/32\n      ports: [53]\n      protocol: udp\n`);

  test("alwaysAllow is compiled into every managed workload and into workload 0 under deny", () => {
    const k = compile(snapshot(host("deny"), workload("a", "    - cidr: 10.0.0.0/8\n"), workload("b", "    - cidr: 10.0.0.0/8\n")));
    expect(k.rulesV4.filter((e) => e.cidr === "127.0.0.53/32").map((e) => e.workload)).toEqual([0, 1, 2]);
    expect(k.workloads.get(0)).toEqual({ flags: 0, spiffeId: "" });
    expect(simulateKernelDecision(k, 0, "127.0.0.53", 53, "udp").verdict).toBe("allow");
    expect(simulateKernelDecision(k, 0, "127.0.0.53", 53, "tcp").verdict).toBe("deny");
    expect(simulateKernelDecision(k, 2, "127.0.0.53", 53, "udp").verdict).toBe("allow");
    // alwaysAllow rules get one rule_id per workload.
    expect(k.ruleTable.filter((r) => r.rule.origin === "alwaysAllow").map((r) => r.workload)).toEqual([1, 2, 0]);
  });

  test("unmanaged modes → workload 0 flags", () => {
    const allow = compile(snapshot(host("allow")));
    expect(allow.workloads.get(0)!.flags).toBe(WL_FLAGS.ALLOW_ALL);
    expect(allow.rulesV4).toEqual([]);
    expect(simulateKernelDecision(allow, 0, "192.0.2.1", 22, "tcp").verdict).toBe("allow");
    const audit = compile(snapshot(host("audit")));
    expect(audit.workloads.get(0)!.flags).toBe(WL_FLAGS.ALLOW_ALL | WL_FLAGS.AUDIT);
    expect(audit.rulesV4.map((e) => e.workload)).toEqual([0]);
    expect(simulateKernelDecision(audit, 0, "192.0.2.1", 22, "tcp").verdict).toBe("audit");
    expect(simulateKernelDecision(audit, 0, "127.0.0.53", 53, "udp").verdict).toBe("allow");
    // Defaults (no HostPolicy document): unmanaged allow.
    expect(compile(snapshot(workload("a", "    - cidr: 10.0.0.0/8\n"))).workloads.get(0)!.flags).toBe(WL_FLAGS.ALLOW_ALL);
  });

  test("an id the policy no longer knows is decided as workload 0", () => {
    const k = compile(snapshot(host("deny"), workload("a", "    - cidr: 10.0.0.0/8\n")));
    expect(simulateKernelDecision(k, 77, "10.1.1.1", 80, "tcp")).toEqual({ verdict: "deny", workload: 0 });
  });
});

test("enforcement: audit sets the AUDIT flag; managed workloads are MANAGED", () => {
  const k = compile(snapshot(workload("a", "    - cidr: 10.0.0.0/8\n", "  enforcement: audit\n"), workload("b", "    - cidr: 10.0.0.0/8\n")));
  expect(k.workloads.get(1)).toEqual({ flags: WL_FLAGS.MANAGED | WL_FLAGS.AUDIT, spiffeId: `${TD}/a` });
  expect(k.workloads.get(2)).toEqual({ flags: WL_FLAGS.MANAGED, spiffeId: `${TD}/b` });
  expect(simulateKernelDecision(k, 1, "192.0.2.1", 80, "tcp").verdict).toBe("audit");
  expect(simulateKernelDecision(k, 2, "192.0.2.1", 80, "tcp").verdict).toBe("deny");
});

test("more than 16 ranges on one prefix after push-down is a KernelCompileError naming workload, prefix and rules", () => {
  const ports = (base: number, n: number) => `[${Array.from({ length: n }, (_, i) => base + 2 * i).join(", ")}]`;
  const s = snapshot(workload("claude", `    - cidr: 10.0.0.0/8\n      ports: ${ports(1000, 10)}\n      protocol: tcp\n    - cidr: 10.1.0.0/16\n      ports: ${ports(2000, 7)}\n      protocol: tcp\n`));
  let err: unknown;
  try {
    compile(s);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(KernelCompileError);
  const e = err as KernelCompileError;
  expect(e.code).toBe("ERR_KERNEL_COMPILE");
  expect(e.workload).toBe(`${TD}/claude`);
  expect(e.prefix).toBe("10.1.0.0/16");
  expect(e.rules.map((r) => r.line)).toEqual([8, 11]);
  expect(e.message).toStartWith(`${TD}/claude: 10.1.0.0/16 needs 17 port ranges after merging the rules that cover it, the kernel holds at most 16: p.yaml:8 (cidr: 10.0.0.0/8`);
  // 16 fits.
  expect(() => compile(snapshot(workload("claude", `    - cidr: 10.0.0.0/8\n      ports: ${ports(1000, 10)}\n    - cidr: 10.1.0.0/16\n      ports: ${ports(2000, 6)}\n`)))).not.toThrow();
});

test("workload ids are stable across generations and never reused", () => {
  const ids = new InMemoryWorkloadIds();
  const g1 = compile(snapshot(workload("a", "    - cidr: 10.0.0.0/8\n"), workload("b", "    - cidr: 10.0.0.0/8\n")), { ids });
  const g2 = compile(snapshot(workload("c", "    - cidr: 10.0.0.0/8\n"), workload("b", "    - cidr: 10.0.0.0/8\n")), { ids });
  expect([...g1.workloads].map(([id, w]) => [id, w.spiffeId])).toEqual([[1, `${TD}/a`], [2, `${TD}/b`], [0, ""]]);
  expect([...g2.workloads].map(([id, w]) => [id, w.spiffeId])).toEqual([[3, `${TD}/c`], [2, `${TD}/b`], [0, ""]]);
  const restored = new InMemoryWorkloadIds(ids.entries());
  expect(restored.idFor(`${TD}/b`)).toBe(2);
  expect(restored.idFor(`${TD}/d`)).toBe(4);
});

describe("exe map", () => {
  const sel = (name: string, selectors: string) => doc("WorkloadIdentity", name, `  workloadID: ${name}\n  selectors:\n${selectors}  egress: []\n`);
  const stat: StatExeFn = (p) =>
    ({
      "/usr/local/bin/claude": { ino: 11n, dev: 0xfd00, sha256: "a".repeat(64) },
      "/usr/bin/python3": { ino: 12, dev: 0xfd00 },
      "/opt/agent": { ino: 13, dev: 0xfd00 },
    })[p];

  test("binary path (+ sha256) with uid/gid, and uid/gid alone, go to the kernel; the rest are left to userspace", () => {
    const k = compile(
      snapshot(
        sel("claude", `    - process:binary:path: /usr/local/bin/claude\n      process:binary:sha256: ${"A".repeat(64)}\n    - process:uid: [1000, 1001]\n      process:gid: 50\n      process:binary:path: /opt/agent\n`),
        sel("py", "    - process:binary:path: [/usr/bin/python3, /missing/bin]\n    - process:name: python3\n    - process:uid: 1002\n    - process:user: alice\n      process:binary:path: /opt/agent\n"),
      ),
      { statExe: stat },
    );
    const dev = toKernelDev(0xfd00);
    // Ranks: claude's path+uid+gid (3 keys) < claude's path+sha256 (2) < py's path / uid (1 key each).
    expect(k.exe).toEqual([
      { ino: 0n, dev: 0, uid: 1002, workload: 2, rank: 2, paths: [] },
      { ino: 11n, dev, workload: 1, rank: 1, paths: ["/usr/local/bin/claude"] },
      { ino: 12n, dev, workload: 2, rank: 2, paths: ["/usr/bin/python3"] },
      { ino: 13n, dev, uid: 1000, gid: 50, workload: 1, rank: 0, paths: ["/opt/agent"] },
      { ino: 13n, dev, uid: 1001, gid: 50, workload: 1, rank: 0, paths: ["/opt/agent"] },
    ]);
    expect(k.userspaceSelectors.map((u) => [u.workload, u.index, u.keys])).toEqual([
      [`${TD}/py`, 1, ["process:name"]],
      [`${TD}/py`, 3, ["process:user"]],
    ]);
    expect(k.warnings.map((w) => w.code)).toEqual(["exe-missing"]);
  });

  test("a sha256 without a path needs userspace; too many (path, uid, gid) combinations are left to userspace, warned", () => {
    const many = Array.from({ length: 17 }, (_, i) => 2000 + i).join(", ");
    const k = compile(snapshot(sel("a", `    - process:binary:sha256: ${"a".repeat(64)}\n    - process:uid: [${many}]\n      process:gid: [${many}]\n`)), { statExe: stat });
    expect(k.exe).toEqual([]);
    expect(k.userspaceSelectors.map((u) => [u.index, u.keys])).toEqual([
      [0, ["process:binary:sha256"]],
      [1, ["process:uid", "process:gid"]],
    ]);
    expect(k.warnings.map((w) => w.code)).toEqual(["exe-too-many-keys"]);
  });

  test("a sha256 that does not match the file on disk keeps the inode out of the map", () => {
    const k = compile(snapshot(sel("claude", `    - process:binary:path: /usr/local/bin/claude\n      process:binary:sha256: ${"b".repeat(64)}\n`)), { statExe: stat });
    expect(k.exe).toEqual([]);
    expect(k.warnings.map((w) => w.code)).toEqual(["exe-hash-mismatch"]);
  });

  test("one inode claimed by two workloads: more keys win, then the smallest SPIFFE ID; warned", () => {
    const k = compile(
      snapshot(
        sel("zeta", "    - process:binary:path: /usr/bin/python3\n"),
        sel("alpha", "    - process:binary:path: /usr/bin/python3\n"),
        sel("strong", `    - process:binary:path: /usr/local/bin/claude\n`),
        sel("stronger", `    - process:binary:path: /usr/local/bin/claude\n      process:binary:sha256: ${"a".repeat(64)}\n`),
      ),
      { statExe: stat },
    );
    expect(k.exe.map((e) => [e.ino, e.workload])).toEqual([
      [11n, 4],
      [12n, 2],
    ]);
    expect(k.warnings.filter((w) => w.code === "exe-ambiguous").length).toBe(2);
  });
});

describe("redirect to the proxy (tls intercept/upgrade Services)", () => {
  const PROXY = { v4: "127.0.0.1", v6: "::1", port: 15001 };
  const svc = (name: string, address: string, port: number, tls: string) =>
    doc("Service", name, `  addresses: [{address: "${address}", port: ${port}}]\n  labels: {app: ${name}}\n  tls: ${tls}\n`);

  test("a managed workload's intercepted Service port is a REDIRECT range listed first; passthrough stays a plain allow", () => {
    const s = snapshot(
      svc("api", "10.9.0.1", 443, "intercept"),
      svc("raw", "10.9.0.2", 443, "passthrough"),
      svc("v6", "2001:db8::7", 8443, "upgrade"),
      workload("claude", "    - services: {app: api}\n    - services: {app: raw}\n    - services: {app: v6}\n    - cidr: 10.9.0.0/24\n"),
    );
    const k = compile(s, { proxy: PROXY });
    expect(k.proxy).toEqual(PROXY);
    expect(entry(k.rulesV4, "10.9.0.1/32")!.value.ranges[0]).toEqual({ lo: 443, hi: 443, protoMask: PROTO_MASK.TCP, flags: RANGE_FLAGS.REDIRECT });
    expect(entry(k.rulesV4, "10.9.0.2/32")!.value.ranges.some((r) => r.flags)).toBe(false);
    expect(simulateKernelDecision(k, 1, "10.9.0.1", 443, "tcp").verdict).toBe("redirect");
    expect(simulateKernelDecision(k, 1, "::ffff:10.9.0.1", 443, "tcp").verdict).toBe("redirect");
    expect(simulateKernelDecision(k, 1, "10.9.0.1", 443, "udp").verdict).toBe("allow"); // the cidr rule; UDP is never redirected
    expect(simulateKernelDecision(k, 1, "10.9.0.1", 80, "tcp").verdict).toBe("allow"); // the cidr rule, not the Service port
    expect(simulateKernelDecision(k, 1, "10.9.0.2", 443, "tcp").verdict).toBe("allow");
    expect(simulateKernelDecision(k, 1, "2001:db8::7", 8443, "tcp").verdict).toBe("redirect");
    expect(simulateKernelDecision(k, 1, "2001:db8::7", 443, "tcp").verdict).toBe("deny");
  });

  test("audit workloads redirect too; unmanaged and compiles without a proxy never redirect", () => {
    const s = snapshot(
      doc("HostPolicy", "host", "  unmanaged: deny\n  alwaysAllow:\n    - services: {app: api}\n"),
      svc("api", "10.9.0.1", 443, "intercept"),
      workload("claude", "    - services: {app: api}\n", "  enforcement: audit\n"),
    );
    const k = compile(s, { proxy: PROXY });
    expect(simulateKernelDecision(k, 1, "10.9.0.1", 443, "tcp").verdict).toBe("redirect");
    expect(simulateKernelDecision(k, 0, "10.9.0.1", 443, "tcp").verdict).toBe("allow");
    const plain = compile(s);
    expect(plain.proxy).toBeUndefined();
    expect(simulateKernelDecision(plain, 1, "10.9.0.1", 443, "tcp").verdict).toBe("allow");
    expect([...plain.rulesV4, ...plain.rulesV6].some((e) => e.value.ranges.some((r) => r.flags))).toBe(false);
  });
});
