/** PolicyParseCache: unchanged files are not re-parsed; any change (text, trust domain) is. */
import { describe, expect, test } from "bun:test";
import { PolicyParseCache, checkPolicy } from "../../../src/policy/index.ts";
import { MIN_SELECTORS, svc, wi } from "./helpers.ts";

const A = { path: "a.yaml", text: wi("  workloadID: claude\n" + MIN_SELECTORS) };
const B = { path: "b.yaml", text: svc("  addresses: [{address: a.example.com, port: 443}]\n") };

describe("PolicyParseCache", () => {
  test("unchanged files reuse their validated documents; changed ones are re-parsed", () => {
    const cache = new PolicyParseCache();
    const first = checkPolicy([A, B], { trustDomain: "sluice.local", cache });
    const second = checkPolicy([A, { ...B, text: B.text.replace("443", "8443") }], { trustDomain: "sluice.local", cache });
    expect(second.docs![0]).toBe(first.docs![0]!);
    expect(second.docs![1]).not.toBe(first.docs![1]!);
    expect(second.docs![1]!.kind === "Service" && second.docs![1]!.spec.addresses[0]!.port).toBe(8443);
  });

  test("a different trust domain is a different result", () => {
    const cache = new PolicyParseCache();
    const a = checkPolicy([A], { trustDomain: "sluice.local", cache });
    const b = checkPolicy([A], { trustDomain: "acme.corp", cache });
    expect(a.docs![0]!.kind === "WorkloadIdentity" && a.docs![0]!.spec.workloadID).toBe("spiffe://sluice.local/claude");
    expect(b.docs![0]!.kind === "WorkloadIdentity" && b.docs![0]!.spec.workloadID).toBe("spiffe://acme.corp/claude");
  });

  test("cross-file checks still run on cached files; removed files are forgotten", () => {
    const cache = new PolicyParseCache();
    checkPolicy([A, B], { trustDomain: "sluice.local", cache });
    const dup = checkPolicy([A, B, { path: "c.yaml", text: B.text }], { trustDomain: "sluice.local", cache });
    expect(dup.diagnostics.map((d) => d.message)).toEqual(['duplicate Service "api" (first defined at b.yaml:3:18)']);
    checkPolicy([A], { trustDomain: "sluice.local", cache });
    expect(cache.size).toBe(1);
  });
});
