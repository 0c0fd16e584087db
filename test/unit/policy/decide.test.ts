/** compilePolicy + decideEgress/explainEgress: first match in order, CIDR v4/v6/mapped, ports, protocols, modes. */
import { describe, expect, test } from "bun:test";
import type { PolicySnapshot } from "../../../src/policy/index.ts";
import { build } from "./helpers.ts";

const POLICY = `apiVersion: sluice/v1alpha1
kind: HostPolicy
metadata: {name: host}
spec:
  unmanaged: deny
  alwaysAllow:
    - cidr: 127.0.0.53/32
      ports: [53]
      protocol: udp
---
apiVersion: sluice/v1alpha1
kind: WorkloadIdentity
metadata: {name: claude}
spec:
  workloadID: claude
  selectors: [{process:uid: 1000}]
  egress:
    - services: {app: mcp}
    - cidr: 10.20.0.0/16
      ports: [5432, "6000-6010"]
      protocol: tcp
    - cidr: 10.20.30.0/24
    - host: API.Example.com.
      ports: [443]
    - cidr: 2001:db8::/32
      protocol: udp
    - cidr: "::ffff:192.168.0.0/112"
---
apiVersion: sluice/v1alpha1
kind: WorkloadIdentity
metadata: {name: auditor}
spec:
  workloadID: agents/auditor
  selectors: [{process:uid: 1001}]
  enforcement: audit
  egress:
    - host: allowed.example.com
---
apiVersion: sluice/v1alpha1
kind: Service
metadata: {name: mcp}
spec:
  addresses: [{address: mcp.example.com, port: 443}, {address: 10.20.1.7, port: 8443}, {address: "2001:db8::7", port: 8443}]
  labels: {app: mcp, tier: ext}
---
apiVersion: sluice/v1alpha1
kind: Service
metadata: {name: db}
spec:
  addresses: [{address: 10.20.1.5, port: 5432}]
  labels: {app: db, tier: int}
`;

const CLAUDE = "spiffe://sluice.local/claude";
const AUDITOR = "spiffe://sluice.local/agents/auditor";

function snapshot(text = POLICY): PolicySnapshot {
  const r = build({ "p.yaml": text });
  if (!r.snapshot) throw new Error(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`).join("\n"));
  return r.snapshot;
}

const s = snapshot();
const decide = (host: string, port: number, protocol?: "tcp" | "udp", who: string | undefined = CLAUDE) => s.decideEgress(who, { host, port, ...(protocol ? { protocol } : {}) });

describe("decideEgress: managed workloads", () => {
  test("Service by label: exact address:port, name case-insensitive, trailing dot ignored", () => {
    for (const host of ["mcp.example.com", "MCP.Example.COM", "mcp.example.com."]) {
      const d = decide(host, 443);
      expect(d.verdict).toBe("allow");
      expect(d.service).toBe("mcp");
      expect(d.rule).toEqual({ kind: "services", origin: "egress", index: 1, file: "p.yaml", line: 18, col: 7, text: "services: {app: mcp}" });
    }
    expect(decide("mcp.example.com", 80).verdict).toBe("deny");
    expect(decide("10.20.1.7", 8443).service).toBe("mcp");
    expect(decide("[2001:DB8:0::7]", 8443).service).toBe("mcp");
    expect(decide("2001:db8::7", 8443).rule?.kind).toBe("services");
  });

  test("CIDR v4 with ports and ranges; first match wins and is reported with file:line:col", () => {
    const d = decide("10.20.9.9", 5432);
    expect(d.verdict).toBe("allow");
    expect(d.rule).toMatchObject({ kind: "cidr", index: 2, line: 19, col: 7, text: "cidr: 10.20.0.0/16, ports: [5432, 6000-6010], protocol: tcp" });
    expect(d.reason).toBe('allowed by WorkloadIdentity "claude" egress #2 (cidr: 10.20.0.0/16, ports: [5432, 6000-6010], protocol: tcp) at p.yaml:19:7');
    expect(decide("10.20.9.9", 6000).rule?.index).toBe(2);
    expect(decide("10.20.9.9", 6010).rule?.index).toBe(2);
    expect(decide("10.20.9.9", 6011).verdict).toBe("deny");
    expect(decide("10.20.9.9", 5999).verdict).toBe("deny");
    // Nested block: the /16 wins for 5432 (earlier), the /24 catches every other port.
    expect(decide("10.20.30.4", 5432).rule?.index).toBe(2);
    expect(decide("10.20.30.4", 22).rule?.index).toBe(3);
    expect(decide("10.20.31.4", 22).verdict).toBe("deny");
    expect(decide("10.21.0.1", 5432).verdict).toBe("deny");
  });

  test("protocol: tcp rule refuses udp; udp rule refuses tcp; default destination protocol is tcp", () => {
    expect(decide("10.20.9.9", 5432, "udp").verdict).toBe("deny");
    expect(decide("10.20.30.4", 5432, "udp").rule?.index).toBe(3); // /24 is protocol any
    expect(decide("2001:db8::1", 53, "udp").rule?.index).toBe(5);
    expect(decide("2001:db8::1", 53).verdict).toBe("deny");
  });

  test("a destination that is a Service, reached through a CIDR rule, still names the Service", () => {
    const d = decide("10.20.1.5", 5432);
    expect(d.rule?.kind).toBe("cidr");
    expect(d.service).toBe("db");
    expect(Object.isFrozen(d)).toBe(true);
  });

  test("IPv4-mapped IPv6 is treated as IPv4, both in rules and in destinations", () => {
    expect(decide("::ffff:10.20.9.9", 5432).rule?.index).toBe(2);
    expect(decide("[::ffff:a14:909]", 5432).rule?.index).toBe(2);
    expect(decide("192.168.3.4", 1).rule?.index).toBe(6);
    expect(decide("192.169.0.1", 1).verdict).toBe("deny");
  });

  test("host rules match names only, case-insensitively", () => {
    expect(decide("api.example.com", 443).rule?.kind).toBe("host");
    expect(decide("API.EXAMPLE.COM.", 443).rule?.index).toBe(4);
    expect(decide("api.example.com", 80).verdict).toBe("deny");
    expect(decide("evil-api.example.com", 443).verdict).toBe("deny");
  });

  test("default deny; junk hosts and ports never match", () => {
    expect(decide("example.org", 443)).toEqual({ verdict: "deny", reason: 'no egress rule of WorkloadIdentity "claude" allows this destination (default deny)' });
    expect(decide("", 443).verdict).toBe("deny");
    expect(decide("10.20.9.9", 0).verdict).toBe("deny");
    expect(decide("10.20.9.9", 70_000).verdict).toBe("deny");
    expect(decide("010.20.9.9", 5432).verdict).toBe("deny"); // leading zeros are not an address
  });

  test("HostPolicy alwaysAllow applies to managed workloads first", () => {
    const d = decide("127.0.0.53", 53, "udp");
    expect(d.rule).toMatchObject({ origin: "alwaysAllow", index: 1, line: 7, col: 7 });
    expect(decide("127.0.0.53", 53, "tcp").verdict).toBe("deny");
  });

  test("enforcement: audit turns a deny into audit, allows stay allows", () => {
    const d = decide("example.org", 443, undefined, AUDITOR);
    expect(d.verdict).toBe("audit");
    expect(d.reason).toContain("enforcement: audit lets it through and reports it");
    expect(decide("allowed.example.com", 1, undefined, AUDITOR).verdict).toBe("allow");
  });
});

describe("decideEgress: unmanaged processes follow HostPolicy.unmanaged", () => {
  const withMode = (mode: string) => snapshot(POLICY.replace("unmanaged: deny", `unmanaged: ${mode}`));

  test.each([["allow"], ["audit"], ["deny"]])("unmanaged: %s", (mode) => {
    const snap = withMode(mode);
    for (const who of [undefined, "spiffe://sluice.local/nobody"]) {
      const d = snap.decideEgress(who, { host: "example.org", port: 443 });
      expect(d.verdict).toBe(mode as "allow");
      expect(d.reason).toBe(`not a managed workload (no WorkloadIdentity): HostPolicy "host" sets unmanaged: ${mode} at p.yaml:3:18`);
      expect(d.rule).toBeUndefined();
    }
    // alwaysAllow applies to unmanaged processes too.
    expect(snap.decideEgress(undefined, { host: "127.0.0.53", port: 53, protocol: "udp" }).verdict).toBe("allow");
  });

  test("without a HostPolicy: unmanaged allow, no alwaysAllow", () => {
    const snap = snapshot(POLICY.slice(POLICY.indexOf("---\n") + 4));
    expect(snap.hostPolicy).toEqual({ unmanaged: "allow", alwaysAllow: [] });
    expect(snap.decideEgress(undefined, { host: "example.org", port: 443 }).verdict).toBe("allow");
    expect(snap.decideEgress(CLAUDE, { host: "127.0.0.53", port: 53, protocol: "udp" }).verdict).toBe("deny");
  });
});

describe("explainEgress agrees with decideEgress and says what was checked", () => {
  test("verdicts agree over a grid of destinations", () => {
    const hosts = ["mcp.example.com", "10.20.1.7", "10.20.1.5", "10.20.30.4", "10.20.9.9", "10.21.0.1", "127.0.0.53", "2001:db8::7", "2001:db8::1", "::ffff:10.20.9.9", "192.168.1.1", "api.example.com", "example.org", "allowed.example.com"];
    const ports = [22, 53, 443, 5432, 6005, 8443];
    let n = 0;
    for (const who of [CLAUDE, AUDITOR, undefined]) {
      for (const host of hosts) {
        for (const port of ports) {
          for (const protocol of ["tcp", "udp"] as const) {
            const d = s.decideEgress(who, { host, port, protocol });
            const e = s.explainEgress(who, { host, port, protocol });
            expect({ verdict: e.verdict, rule: e.rule, service: e.service }).toEqual({ verdict: d.verdict, rule: d.rule, service: d.service });
            const matched = e.checks.filter((c) => c.matched);
            expect(matched.length).toBe(d.rule ? 1 : 0);
            if (d.rule) expect(matched[0]!.rule).toEqual(d.rule);
            n++;
          }
        }
      }
    }
    expect(n).toBe(3 * 14 * 6 * 2);
  });

  test("text names each rule checked, why it failed, and the verdict", () => {
    const e = s.explainEgress(CLAUDE, { host: "10.20.9.9", port: 6005, protocol: "udp" });
    expect(e.text).toBe(
      [
        "destination: 10.20.9.9:6005/udp (IPv4 address)",
        'workload: spiffe://sluice.local/claude: WorkloadIdentity "claude" at p.yaml:13:18, enforcement: enforce',
        'HostPolicy "host" alwaysAllow, checked first:',
        "  #1 cidr: 127.0.0.53/32, ports: [53], protocol: udp (p.yaml:7:7): no match: 10.20.9.9 is not in 127.0.0.53/32",
        'WorkloadIdentity "claude" egress:',
        '  #1 services: {app: mcp} (p.yaml:18:7): no match: none of the selected Services ("mcp") is at 10.20.9.9:6005',
        "  #2 cidr: 10.20.0.0/16, ports: [5432, 6000-6010], protocol: tcp (p.yaml:19:7): no match: 10.20.9.9 is in 10.20.0.0/16, but protocol udp is not tcp",
        "  #3 cidr: 10.20.30.0/24 (p.yaml:22:7): no match: 10.20.9.9 is not in 10.20.30.0/24",
        "  #4 host: api.example.com, ports: [443] (p.yaml:23:7): no match: the destination is an address; host rules match names only",
        "  #5 cidr: 2001:db8::/32, protocol: udp (p.yaml:25:7): no match: 10.20.9.9 is IPv4, 2001:db8::/32 is not",
        "  #6 cidr: 192.168.0.0/16 (p.yaml:27:7): no match: 10.20.9.9 is not in 192.168.0.0/16",
        'verdict: deny: no egress rule of WorkloadIdentity "claude" allows this destination (default deny)',
        "",
      ].join("\n"),
    );
    expect(JSON.parse(JSON.stringify(e)).verdict).toBe("deny"); // JSON-safe (the CLI prints it)
  });

  test("a match stops the walk", () => {
    const e = s.explainEgress(CLAUDE, { host: "mcp.example.com", port: 443 });
    expect(e.text).toContain('  #1 services: {app: mcp} (p.yaml:18:7): MATCH: Service "mcp" is at mcp.example.com:443\n  (5 later rule(s) not evaluated: first match wins)\n');
  });
});

describe("snapshot lookups and immutability", () => {
  test("workload, servicesAt, servicesWithLabel, stats, hash", () => {
    expect(s.workload(CLAUDE)?.name).toBe("claude");
    expect(s.workload("spiffe://sluice.local/nobody")).toBeUndefined();
    expect(s.workloads().map((w) => w.spiffeId)).toEqual([CLAUDE, AUDITOR]);
    expect(s.servicesAt("MCP.example.com.", 443).map((x) => x.name)).toEqual(["mcp"]);
    expect(s.servicesAt("2001:0db8::0007", 8443).map((x) => x.name)).toEqual(["mcp"]);
    expect(s.servicesAt("mcp.example.com", 80)).toEqual([]);
    expect(s.servicesWithLabel("app", "db").map((x) => x.name)).toEqual(["db"]);
    expect(s.servicesWithLabel("tier", "nope")).toEqual([]);
    expect(s.stats).toEqual({ files: 1, workloads: 2, services: 2, credentialSources: 0, credentialBindings: 0, egressRules: 8 });
    expect(s.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(snapshot().hash).toBe(s.hash);
    expect(snapshot(POLICY + "\n# a comment\n").hash).not.toBe(s.hash);
  });

  test("everything reachable is frozen", () => {
    const w = s.workload(CLAUDE)!;
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(w)).toBe(true);
    expect(Object.isFrozen(w.egress)).toBe(true);
    expect(Object.isFrozen(w.egress[1]!.ports[0])).toBe(true);
    expect(Object.isFrozen(w.selectors[0]!.match)).toBe(true);
    expect(Object.isFrozen(s.services()[0]!.addresses)).toBe(true);
    expect(Object.isFrozen(s.servicesWithLabel("app", "mcp"))).toBe(true);
    expect(Object.isFrozen(s.servicesAt("mcp.example.com", 443))).toBe(true);
    expect(Object.isFrozen(s.hostPolicy.alwaysAllow)).toBe(true);
    expect(() => (s.workloads() as unknown as unknown[]).push({})).toThrow();
    expect(() => {
      (w.egress as unknown as Array<unknown>)[0] = null;
    }).toThrow();
  });
});
