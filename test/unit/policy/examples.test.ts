/** The shipped examples (policies/*.yaml, copied by `sluice init`) must be valid, warning-free and complete. */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { API_VERSION, KINDS, SELECTOR_KEYS, formatDiagnostic, loadPolicyDir } from "../../../src/policy/index.ts";

const DIR = join(import.meta.dir, "../../../policies");

describe("policies/ examples", () => {
  test("validate with zero errors and zero warnings for trust domain sluice.local", async () => {
    const r = await loadPolicyDir(DIR, { trustDomain: "sluice.local" });
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([]);
    expect(r.snapshot).toBeDefined();
    expect(r.snapshot!.stats.files).toBe(readdirSync(DIR).filter((f) => f.endsWith(".yaml")).length);
  });

  test("are valid (warnings allowed) for any other trust domain", async () => {
    const r = await loadPolicyDir(DIR, { trustDomain: "acme.corp" });
    expect(r.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic)).toEqual([]);
    expect(r.snapshot?.workload("spiffe://acme.corp/claude")?.name).toBe("claude");
  });

  test("show every kind, every selector key, every CredentialSource variant and TLS mode", () => {
    const all = readdirSync(DIR)
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => readFileSync(join(DIR, f), "utf8"))
      .join("\n");
    for (const kind of KINDS) expect(all).toContain(`kind: ${kind}`);
    for (const key of SELECTOR_KEYS) expect(all).toContain(`${key}:`);
    for (const v of ["oauth2AuthorizationCode:", "oauth2ClientCredentials:", "static:", "jwtSVID:"]) expect(all).toContain(v);
    for (const f of ["enforcement:", "svid:", "x509TTL:", "jwtTTL:", "egress:", "services:", "cidr:", "host:", "ports:", "protocol:", "external:", "spiffeID:", "humanID:", "alwaysAllow:", "unmanaged:", "labels:", "annotations:", "valueFrom:", "clientSecretFrom:", "header:", "format:", "audience:", "scopes:", "usePKCE:"]) expect(all).toContain(f);
    for (const mode of ["tls: intercept", "tls: upgrade", "passthrough"]) expect(all).toContain(mode);
    expect(all.match(/^apiVersion: (.*)$/gm)!.every((l) => l === `apiVersion: ${API_VERSION}`)).toBe(true);
  });

  test("compile to the documented behaviour", async () => {
    const s = (await loadPolicyDir(DIR, { trustDomain: "sluice.local" })).snapshot!;
    const claude = "spiffe://sluice.local/claude";
    expect(s.workload(claude)?.enforcement).toBe("audit");
    expect(s.decideEgress(claude, { host: "mcp.cloudflare.com", port: 443 })).toMatchObject({ verdict: "allow", service: "cloudflare-mcp" });
    expect(s.decideEgress(claude, { host: "example.org", port: 443 }).verdict).toBe("audit");
    expect(s.decideEgress("spiffe://sluice.local/agents/coder", { host: "example.org", port: 443 }).verdict).toBe("deny");
    expect(s.decideEgress(undefined, { host: "example.org", port: 443 }).verdict).toBe("allow");
    expect(s.binding(claude, "spiffe://sluice.local/user/alice", "cloudflare-mcp")?.credentialSource.spec.type).toBe("oauth2AuthorizationCode");
    expect(s.binding(claude, "spiffe://sluice.local/user/bob", "cloudflare-mcp")).toBeUndefined();
    expect(s.binding(claude, "spiffe://sluice.local/user/bob", "github-api")?.name).toBe("claude-github");
    expect(s.services().find((x) => x.name === "inventory")?.tls).toBe("upgrade");
    expect(s.services().find((x) => x.name === "github-api")?.tls).toBe("intercept");
  });
});
