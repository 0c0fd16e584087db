import { describe, expect, test } from "bun:test";
import { bundlesDigest, concatBytes, normalizeKeys, trustDomainKey, trustDomainKeyOf, x509BundleBlobs } from "../../../src/spiffe/workload-api/service/bundles.ts";

describe("Workload API bundle keys (the wire keys bundles by the trust domain's SPIFFE ID)", () => {
  test("bare names and spiffe:// forms give the same key", () => {
    expect(trustDomainKey("example.org")).toBe("spiffe://example.org");
    expect(trustDomainKey("spiffe://example.org")).toBe("spiffe://example.org");
    expect(trustDomainKey("spiffe://Example.ORG/")).toBe("spiffe://example.org");
  });
  test("the trust domain key of a SPIFFE ID", () => {
    expect(trustDomainKeyOf("spiffe://example.org/ns/a")).toBe("spiffe://example.org");
    expect(trustDomainKeyOf("spiffe://example.org")).toBe("spiffe://example.org");
    expect(() => trustDomainKeyOf("https://example.org/a")).toThrow("not a SPIFFE ID");
  });
  test("a map mixing both forms is normalized, and X.509 blobs concatenate DER per trust domain", () => {
    const a = new Uint8Array([1, 2]);
    const b = new Uint8Array([3]);
    const mixed = new Map([["example.org", [a, b]], ["spiffe://partner.test", [b]], ["empty.test", []]]);
    expect([...normalizeKeys(mixed).keys()]).toEqual(["spiffe://example.org", "spiffe://partner.test", "spiffe://empty.test"]);
    const blobs = x509BundleBlobs(mixed);
    expect([...blobs.keys()]).toEqual(["spiffe://example.org", "spiffe://partner.test"]);
    expect([...blobs.get("spiffe://example.org")!]).toEqual([1, 2, 3]);
    expect([...concatBytes([a, b, a])]).toEqual([1, 2, 3, 1, 2]);
  });
  test("the digest changes with content and not with key spelling", () => {
    const one = bundlesDigest(x509BundleBlobs(new Map([["example.org", [new Uint8Array([1])]]])));
    const same = bundlesDigest(x509BundleBlobs(new Map([["spiffe://example.org", [new Uint8Array([1])]]])));
    const other = bundlesDigest(x509BundleBlobs(new Map([["example.org", [new Uint8Array([2])]]])));
    expect(one).toBe(same);
    expect(one).not.toBe(other);
  });
});
