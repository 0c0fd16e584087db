/**
 * SPIFFE Workload API, end to end: a real @grpc/grpc-js client (proto loaded with
 * @grpc/proto-loader) in its own process, as uid 65534 through setpriv, against the server on a
 * real unix socket. Section numbers refer to the SPIFFE Workload API / Workload Endpoint specs.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decodeJwt } from "jose";
import { SvidError } from "../../../src/spiffe/index.ts";
import { identity, NOBODY, spawnClient, startHarness, until, type Harness } from "./support/harness.ts";

const TD = "spiffe://example.org";
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

/** Runs the client to completion and returns its lines after the hello. */
async function run(args: string[], uid = NOBODY) {
  const c = spawnClient(h.socketPath, args, uid);
  const hello = await c.next();
  const lines = await c.rest();
  await c.exited;
  return { hello, lines, pid: c.pid };
}

describe("FetchX509SVID (Workload API §5.2.1)", () => {
  test("a uid-matched caller in another process gets its X.509-SVID; SO_PEERCRED names that process", async () => {
    h.callers.set(NOBODY, identity("agent"));
    const auditBefore = h.audit.records.length;
    const { hello, lines, pid } = await run(["x509"]);
    expect(hello).toEqual({ type: "hello", pid, uid: NOBODY, gid: NOBODY });
    const [msg] = lines;
    expect(msg).toMatchObject({
      type: "x509",
      svids: 1,
      spiffeId: `${TD}/agent`,
      uriSans: [`${TD}/agent`],
      ca: false,
      keyMatches: true,
      bundleCount: 1,
      signedByBundle: true,
      federated: ["spiffe://partner.test"],
    });
    // The kernel's record of the caller, read at accept: the spawned process's own pid and uid.
    expect(h.callers.seen).toContainEqual({ pid, uid: NOBODY, gid: NOBODY });
    // …and the attestor is handed a pidfd for exactly that process (SO_PEERPIDFD, Linux ≥ 6.5)
    expect(h.callers.pidfdPids).toContain(pid);

    const issued = h.audit.records.slice(auditBefore).filter((r) => r.kind === "svid.x509.issue");
    expect(issued).toHaveLength(1);
    expect(issued[0]).toMatchObject({ decision: "allow", subject: `${TD}/agent`, pid, uid: NOBODY, details: { rpc: "FetchX509SVID", reason: "initial", serial: msg.serial } });
    const text = JSON.stringify(h.audit.records);
    expect(text).not.toContain("PRIVATE KEY");
    expect(text).not.toContain("x509SvidKey");
  });

  test("rotation: a short-lived SVID is replaced on the same stream before it expires", async () => {
    h.callers.set(NOBODY, identity("rotating", 2));
    const { lines } = await run(["x509", "--count", "2"]);
    const [first, second] = lines;
    expect(first.type).toBe("x509");
    expect(second.type).toBe("x509");
    expect(second.spiffeId).toBe(`${TD}/rotating`);
    expect(second.serial).not.toBe(first.serial);
    // pushed at half-life: received before the first one expired
    expect(second.at).toBeLessThan(first.notAfter);
    expect(second.at - first.at).toBeGreaterThanOrEqual(500);
    expect(second.notAfter).toBeGreaterThan(first.notAfter - 1000);
    expect(h.audit.ofKind("svid.x509.issue").some((r) => (r.details as { reason?: string }).reason === "timer")).toBe(true);
  }, 15_000);

  test("identity changes while streaming: the next message carries an SVID for the new SPIFFE ID", async () => {
    h.callers.set(NOBODY, identity("before"));
    const c = spawnClient(h.socketPath, ["x509", "--count", "2"]);
    await c.next();
    const first = await c.next();
    expect(first.spiffeId).toBe(`${TD}/before`);
    h.callers.set(NOBODY, identity("after"));
    const second = await c.next();
    expect(second).toMatchObject({ type: "x509", spiffeId: `${TD}/after`, uriSans: [`${TD}/after`] });
    await c.exited;
  });

  test("bundle change while streaming: the same SVID is re-sent with the new bundle (every message is complete, §4.3)", async () => {
    h.callers.set(NOBODY, identity("bundles"));
    const c = spawnClient(h.socketPath, ["x509", "--count", "2"]);
    await c.next();
    const first = await c.next();
    const before = h.ca.bundle().x509Authorities.length;
    h.ca.rotateNow(); // a successor authority is published (not yet signing): the bundle changes
    expect(h.ca.bundle().x509Authorities).toHaveLength(before + 1);
    const second = await c.next();
    expect(second.serial).toBe(first.serial);
    expect(second.bundleCount).toBe(before + 1);
    expect(second.signedByBundle).toBe(true);
    expect(second.federated).toEqual(["spiffe://partner.test"]);
    await c.exited;
  });

  test("identity withdrawn (onChange): the stream ends with PermissionDenied and its resources are released", async () => {
    h.callers.set(NOBODY, identity("leaving"));
    const c = spawnClient(h.socketPath, ["x509", "--count", "5"]);
    await c.next();
    expect((await c.next()).spiffeId).toBe(`${TD}/leaving`);
    await until(() => h.server.stats().streams === 1);
    h.callers.set(NOBODY, undefined);
    expect(await c.next()).toMatchObject({ type: "error", codeName: "PERMISSION_DENIED" });
    await c.exited;
    await until(() => h.server.stats().streams === 0);
    expect(h.audit.ofKind("workload_api.deny").at(-1)).toMatchObject({ decision: "deny", uid: NOBODY, details: { rpc: "FetchX509SVID", reason: "no matching WorkloadIdentity" } });
    // one subscription per server, not per stream
    expect(h.callers.listenerCount).toBe(1);
    expect(h.svids.listenerCount).toBe(1);
  });

  test("a caller that matches no WorkloadIdentity gets PermissionDenied (§5.2.1, Endpoint §6)", async () => {
    h.callers.set(NOBODY, undefined);
    const { lines, pid } = await run(["x509"]);
    expect(lines[0]).toMatchObject({ type: "error", codeName: "PERMISSION_DENIED" });
    expect(lines[0].details).toContain("matches no WorkloadIdentity");
    expect(h.audit.ofKind("workload_api.deny").at(-1)).toMatchObject({ pid, uid: NOBODY, details: { rpc: "FetchX509SVID" } });
  });

  test("without the workload.spiffe.io header: InvalidArgument, before any attestation (Endpoint §3, §6)", async () => {
    h.callers.set(NOBODY, identity("agent"));
    const { lines, pid } = await run(["x509", "--no-header"]);
    expect(lines[0]).toMatchObject({ type: "error", codeName: "INVALID_ARGUMENT" });
    expect(lines[0].details).toContain("workload.spiffe.io");
    expect(h.callers.seen.some((p) => p.pid === pid)).toBe(false);
    expect(h.audit.ofKind("workload_api.deny").at(-1)).toMatchObject({ pid, details: { reason: "missing security header" } });
  });
});

describe("FetchX509Bundles (§5.2.2)", () => {
  test("first message: own and federated trust domains, keyed by trust domain SPIFFE ID", async () => {
    h.callers.set(NOBODY, identity("agent"));
    const { lines } = await run(["x509-bundles"]);
    expect(lines[0]).toMatchObject({ type: "x509-bundles", bundles: { [TD]: h.ca.bundle().x509Authorities.length, "spiffe://partner.test": 1 } });
  });

  test("unmatched caller: PermissionDenied", async () => {
    h.callers.set(NOBODY, undefined);
    const { lines } = await run(["x509-bundles"]);
    expect(lines[0]).toMatchObject({ type: "error", codeName: "PERMISSION_DENIED" });
  });
});

describe("JWT-SVID profile (§6)", () => {
  test("FetchJWTSVID with an audience: a JWT-SVID for the caller's SPIFFE ID; audited without the token", async () => {
    h.callers.set(NOBODY, identity("agent"));
    const { lines, pid } = await run(["jwt", "--audience", "https://api.example.com", "--audience", "other"]);
    expect(lines[0].type).toBe("jwt");
    const [svid] = lines[0].svids;
    expect(svid.spiffeId).toBe(`${TD}/agent`);
    const claims = decodeJwt(svid.svid);
    expect(claims.sub).toBe(`${TD}/agent`);
    expect(claims.aud).toEqual(["https://api.example.com", "other"]);
    expect(h.audit.ofKind("svid.jwt.issue").at(-1)).toMatchObject({ subject: `${TD}/agent`, pid, uid: NOBODY, details: { audience: ["https://api.example.com", "other"] } });
    expect(JSON.stringify(h.audit.records)).not.toContain(svid.svid);
  });

  test("FetchJWTSVID without an audience: InvalidArgument (§4.5, §6.2.1)", async () => {
    h.callers.set(NOBODY, identity("agent"));
    const { lines } = await run(["jwt"]);
    expect(lines[0]).toMatchObject({ type: "error", codeName: "INVALID_ARGUMENT", details: "audience must be specified" });
  });

  test("FetchJWTSVID for a SPIFFE ID the caller is not entitled to: PermissionDenied; for its own: ok", async () => {
    h.callers.set(NOBODY, identity("agent"));
    const denied = await run(["jwt", "--audience", "a", "--spiffe-id", `${TD}/someone-else`]);
    expect(denied.lines[0]).toMatchObject({ type: "error", codeName: "PERMISSION_DENIED" });
    const own = await run(["jwt", "--audience", "a", "--spiffe-id", `${TD}/agent`]);
    expect(own.lines[0].svids[0].spiffeId).toBe(`${TD}/agent`);
  });

  test("FetchJWTSVID: unmatched caller → PermissionDenied; missing header → InvalidArgument", async () => {
    h.callers.set(NOBODY, undefined);
    expect((await run(["jwt", "--audience", "a"])).lines[0]).toMatchObject({ codeName: "PERMISSION_DENIED" });
    h.callers.set(NOBODY, identity("agent"));
    expect((await run(["jwt", "--audience", "a", "--no-header"])).lines[0]).toMatchObject({ codeName: "INVALID_ARGUMENT" });
  });

  test("FetchJWTBundles: first message is the own trust domain's JWKS", async () => {
    h.callers.set(NOBODY, identity("agent"));
    const { lines } = await run(["jwt-bundles"]);
    expect(lines[0].type).toBe("jwt-bundles");
    const jwks = lines[0].bundles[TD];
    // exactly the CA's published JWT authorities (a rotation earlier in this file added a successor)
    const published = h.ca.bundle().jwtAuthorities;
    expect(published.length).toBeGreaterThanOrEqual(1);
    expect(jwks.keys).toHaveLength(published.length);
    published.forEach((a, i) => expect(jwks.keys[i]).toEqual({ ...a.jwk, kid: a.kid, use: "jwt-svid" }));
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: "EC", crv: "P-256", use: "jwt-svid" });
      expect(key.d).toBeUndefined();
    }
    // the federated trust domain's JWT authorities too
    expect(lines[0].bundles["spiffe://partner.test"].keys.map((k: { kid: string }) => k.kid)).toEqual(h.partner.bundle().jwtAuthorities.map((a) => a.kid));
  });

  test("ValidateJWTSVID: a valid token → SPIFFE ID and claims as a Struct (§6.2.3)", async () => {
    h.callers.set(NOBODY, identity("agent"));
    const token = (await run(["jwt", "--audience", "svc"])).lines[0].svids[0].svid;
    const { lines } = await run(["validate", "--audience", "svc", "--token", token]);
    expect(lines[0]).toMatchObject({ type: "validate", spiffeId: `${TD}/agent` });
    const claims = lines[0].claims.fields;
    expect(claims.sub).toMatchObject({ stringValue: `${TD}/agent` });
    // the CA sends a single audience as a string (RFC 7519 §4.1.3), several as a list
    expect(claims.aud).toMatchObject({ stringValue: "svc" });
    expect(claims.exp.numberValue).toBeGreaterThan(Date.now() / 1000);
    const two = (await run(["jwt", "--audience", "svc", "--audience", "other"])).lines[0].svids[0].svid;
    const both = (await run(["validate", "--audience", "svc", "--token", two])).lines[0];
    expect(both).toMatchObject({ type: "validate", spiffeId: `${TD}/agent` });
    expect(both.claims.fields.aud.listValue.values.map((v: { stringValue: string }) => v.stringValue)).toEqual(["svc", "other"]);
  });

  test("ValidateJWTSVID: wrong audience, garbage, missing fields → InvalidArgument", async () => {
    h.callers.set(NOBODY, identity("agent"));
    const token = (await run(["jwt", "--audience", "svc"])).lines[0].svids[0].svid;
    const wrongAud = (await run(["validate", "--audience", "not-svc", "--token", token])).lines[0];
    expect(wrongAud).toMatchObject({ type: "error", codeName: "INVALID_ARGUMENT" });
    expect(wrongAud.details).toContain("aud");
    // the CA's verdict, as the client is told it: SvidError with the JWT-SVID rule that failed
    const audErr = await h.svids.validateJwtSvid(token, "not-svc").catch((e) => e);
    expect(audErr).toBeInstanceOf(SvidError);
    expect(audErr).toMatchObject({ code: "ERR_JWT_SVID_INVALID", rule: "aud-mismatch" });
    expect(wrongAud.details).toBe(`invalid JWT-SVID: ${audErr.message}`);
    const garbage = (await run(["validate", "--audience", "svc", "--token", "not.a.jwt"])).lines[0];
    expect(garbage).toMatchObject({ codeName: "INVALID_ARGUMENT" });
    const garbageErr = await h.svids.validateJwtSvid("not.a.jwt", "svc").catch((e) => e);
    expect(garbageErr).toMatchObject({ code: "ERR_JWT_SVID_INVALID", rule: "malformed" });
    expect(garbage.details).toBe(`invalid JWT-SVID: ${garbageErr.message}`);
    expect((await run(["validate", "--audience", "svc"])).lines[0]).toMatchObject({ codeName: "INVALID_ARGUMENT", details: "svid must be specified" });
    expect((await run(["validate", "--token", token])).lines[0]).toMatchObject({ codeName: "INVALID_ARGUMENT", details: "audience must be specified" });
  });
});

test("WIT-SVID profile is not supported: Unimplemented (§7)", async () => {
  h.callers.set(NOBODY, identity("agent"));
  expect((await run(["wit"])).lines[0]).toMatchObject({ type: "error", codeName: "UNIMPLEMENTED" });
});
