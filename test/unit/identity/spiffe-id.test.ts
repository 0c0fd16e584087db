/** SPIFFE-ID.md §2: each rule of the spec, valid and invalid, with the rule that must fail. */
import { describe, expect, test } from "bun:test";
import {
  SpiffeIdError,
  isValidTrustDomain,
  parseSpiffeId,
  spiffeIdFor,
  trustDomainProblem,
  tryParseSpiffeId,
  type SpiffeIdRule,
} from "../../../src/identity/index.ts";

describe("SPIFFE ID §2: valid IDs", () => {
  const valid: Array<[string, string, string]> = [
    ["spiffe://example.org", "example.org", ""],
    ["spiffe://staging.example.com/payments/mysql", "staging.example.com", "/payments/mysql"],
    ["spiffe://k8s-west.example.com/ns/staging/sa/default", "k8s-west.example.com", "/ns/staging/sa/default"],
    ["spiffe://example.com/9eebccd2-12bf-40a6-b262-65fe0487d453", "example.com", "/9eebccd2-12bf-40a6-b262-65fe0487d453"],
    ["spiffe://trust_domain_name.example.com/x", "trust_domain_name.example.com", "/x"],
    ["spiffe://10.0.0.1/workload", "10.0.0.1", "/workload"],
    ["spiffe://td/Mixed.Case_Path-1/a.b", "td", "/Mixed.Case_Path-1/a.b"],
    ["spiffe://td/...", "td", "/..."],
  ];

  for (const [id, td, path] of valid) {
    test(id, () => {
      const parsed = parseSpiffeId(id);
      expect(parsed).toEqual({ trustDomain: td, path, id });
      expect(Object.isFrozen(parsed)).toBe(true);
    });
  }
});

describe("SPIFFE ID §2: invalid IDs name the broken rule", () => {
  const invalid: Array<[string, SpiffeIdRule, string]> = [
    ["", "empty", "must not be empty"],
    ["http://example.org/x", "scheme", 'must start with "spiffe://"'],
    ["spiffe:/example.org/x", "scheme", 'must start with "spiffe://"'],
    ["SPIFFE://example.org/x", "scheme-case", 'scheme must be lowercase "spiffe"'],
    ["Spiffe://example.org/x", "scheme-case", 'scheme must be lowercase "spiffe"'],
    ["spiffe://", "trust-domain-empty", "trust domain must not be empty"],
    ["spiffe:///path", "trust-domain-empty", "trust domain must not be empty"],
    ["spiffe://Example.org/x", "trust-domain-case", 'must be lowercase (did you mean "example.org"?)'],
    ["spiffe://exa mple.org/x", "trust-domain-chars", "may contain only a-z, 0-9"],
    ["spiffe://example.org:8443/x", "port", "must not contain a port"],
    ["spiffe://user@example.org/x", "userinfo", "must not contain userinfo"],
    ["spiffe://user:pw@example.org/x", "userinfo", "must not contain userinfo"],
    ["spiffe://[::1]/x", "trust-domain-chars", "must not be an IPv6 address"],
    ["spiffe://exa%41mple.org/x", "percent-encoding", "trust domain must not contain percent-encoded"],
    ["spiffe://example.org/x?y=1", "query-or-fragment", "must not contain a query or fragment"],
    ["spiffe://example.org/x#frag", "query-or-fragment", "must not contain a query or fragment"],
    ["spiffe://example.org/", "trailing-slash", "must not end with '/'"],
    ["spiffe://example.org/a/", "trailing-slash", "must not end with '/'"],
    ["spiffe://example.org//a", "empty-segment", "empty segments"],
    ["spiffe://example.org/a//b", "empty-segment", "empty segments"],
    ["spiffe://example.org/./a", "dot-segment", "'.' segments"],
    ["spiffe://example.org/a/..", "dot-segment", "'..' segments"],
    ["spiffe://example.org/a%20b", "percent-encoding", "path must not contain percent-encoded"],
    ["spiffe://example.org/a b", "path-chars", 'path segment "a b" may contain only'],
    ["spiffe://example.org/é", "path-chars", "may contain only letters"],
    ["spiffe://example.org/a:b", "path-chars", "may contain only letters"],
    [`spiffe://example.org/${"a".repeat(2048)}`, "too-long", "longer than 2048 bytes"],
    [`spiffe://${"a".repeat(256)}/x`, "trust-domain-too-long", "longer than 255 bytes"],
  ];

  for (const [id, rule, message] of invalid) {
    test(`${rule}: ${id.length > 60 ? id.slice(0, 60) + "…" : JSON.stringify(id)}`, () => {
      const r = tryParseSpiffeId(id);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error.rule).toBe(rule);
      expect(r.error.code).toBe("ERR_SPIFFE_ID");
      expect(r.error.message).toContain(message);
      expect(() => parseSpiffeId(id)).toThrow(SpiffeIdError);
    });
  }

  test("exactly 2048 bytes is accepted, 2049 is not", () => {
    const base = "spiffe://example.org/";
    expect(tryParseSpiffeId(base + "a".repeat(2048 - base.length)).ok).toBe(true);
    expect(tryParseSpiffeId(base + "a".repeat(2049 - base.length)).ok).toBe(false);
  });
});

describe("trust domains and construction", () => {
  test("isValidTrustDomain / trustDomainProblem", () => {
    expect(isValidTrustDomain("sluice.local")).toBe(true);
    expect(isValidTrustDomain("a_b-c.d")).toBe(true);
    expect(isValidTrustDomain("")).toBe(false);
    expect(isValidTrustDomain("Acme.Corp")).toBe(false);
    expect(isValidTrustDomain("acme.corp:443")).toBe(false);
    expect(trustDomainProblem("Acme.Corp")?.rule).toBe("trust-domain-case");
    expect(trustDomainProblem("acme.corp")).toBeUndefined();
  });

  test("spiffeIdFor accepts paths with or without the leading slash", () => {
    expect(spiffeIdFor("sluice.local", "claude")).toBe("spiffe://sluice.local/claude");
    expect(spiffeIdFor("sluice.local", "/agents/claude")).toBe("spiffe://sluice.local/agents/claude");
    expect(spiffeIdFor("sluice.local", "")).toBe("spiffe://sluice.local");
  });

  test("spiffeIdFor rejects invalid parts with the spec rule", () => {
    expect(() => spiffeIdFor("sluice.local", "a/../b")).toThrow("'..' segments");
    expect(() => spiffeIdFor("Sluice.Local", "a")).toThrow("lowercase");
    try {
      spiffeIdFor("sluice.local", "a/");
      throw new Error("not thrown");
    } catch (e) {
      expect(e).toBeInstanceOf(SpiffeIdError);
      expect((e as SpiffeIdError).rule).toBe("trailing-slash");
    }
  });
});
