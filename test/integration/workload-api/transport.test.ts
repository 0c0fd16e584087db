/**
 * The Workload Endpoint transport: the unix socket's life cycle and modes, the HTTP/2 + gRPC
 * limits, shutdown, and attestation edge cases (caller gone, attestor or CA down).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../../src/log/index.ts";
import { createWorkloadApiServer, WorkloadSocketError } from "../../../src/spiffe/workload-api/index.ts";
import { grpcCall } from "../../../src/spiffe/workload-api/grpc/client.ts";
import { encodeEmpty, encodeValidateJwtSvidRequest } from "../../../src/spiffe/workload-api/proto/messages.ts";
import { UidCallers } from "./support/callers.ts";
import { identity, makeStaleSocket, NOBODY, spawnClient, startHarness, until, type ClientProcess, type Harness } from "./support/harness.ts";
import { openTestCAs } from "./support/real-ca.ts";

const SELF_UID = process.getuid!();
const HEADER = { "workload.spiffe.io": "true" };
const X509 = "/SpiffeWorkloadAPI/FetchX509SVID";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function harness(options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  const h = await startHarness(options);
  cleanups.push(() => h.close());
  return h;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "sluice-wlsock-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function newServer(socketPath: string) {
  const cas = await openTestCAs(silentLogger);
  cleanups.push(() => cas.close());
  return createWorkloadApiServer({ socketPath, svids: cas.svids, callers: new UidCallers(), logger: silentLogger });
}

function session(path: string): http2.ClientHttp2Session {
  const s = http2.connect("http://localhost", { createConnection: () => connect(path) as Socket });
  s.on("error", () => {});
  cleanups.push(() => void s.destroy());
  return s;
}

function request(s: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body: Uint8Array = new Uint8Array(5)) {
  return new Promise<{ status?: number; grpcStatus?: string; rstCode?: number }>((resolve) => {
    const r = s.request(headers);
    const out: { status?: number; grpcStatus?: string; rstCode?: number } = {};
    r.on("response", (h) => {
      out.status = Number(h[":status"]);
      if (h["grpc-status"] !== undefined) out.grpcStatus = String(h["grpc-status"]);
    });
    r.on("trailers", (t) => (out.grpcStatus = String(t["grpc-status"])));
    r.on("data", () => {});
    r.on("error", () => {});
    r.on("close", () => resolve({ ...out, rstCode: r.rstCode }));
    r.end(body);
  });
}

describe("unix socket (Workload Endpoint §3)", () => {
  test("parent dir created 0755, socket 0666, removed on stop", async () => {
    const dir = tempDir();
    const path = join(dir, "nested", "run", "workload.sock");
    const server = await newServer(path);
    await server.start();
    expect(statSync(join(dir, "nested", "run")).mode & 0o777).toBe(0o755);
    const st = lstatSync(path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o666);
    expect(server.address).toBe(path);
    await server.stop();
    expect(() => lstatSync(path)).toThrow();
  });

  test("a stale socket (nothing listening) is replaced", async () => {
    const path = await makeStaleSocket(join(tempDir(), "workload.sock"));
    const server = await newServer(path);
    await server.start();
    cleanups.push(() => server.stop());
    expect(lstatSync(path).mode & 0o777).toBe(0o666);
  });

  test("a live socket is never taken over: start fails, the first server keeps serving", async () => {
    const h = await harness();
    const second = await newServer(h.socketPath);
    const err = await second.start().catch((e) => e);
    expect(err).toBeInstanceOf(WorkloadSocketError);
    expect(err.message).toContain("another process is already serving");
    h.callers.set(SELF_UID, identity("still-here"));
    expect(await grpcCall(h.socketPath, X509, encodeEmpty(), { metadata: HEADER, stopAfter: 1 })).toHaveLength(1);
  });

  test("a path that is not a socket is never removed", async () => {
    const path = join(tempDir(), "workload.sock");
    writeFileSync(path, "precious");
    const err = await (await newServer(path)).start().catch((e) => e);
    expect(err.message).toContain("exists and is not a socket");
    expect(readFileSync(path, "utf8")).toBe("precious");
  });

  test("relative and over-long paths are refused with a clear message", async () => {
    expect(await (await newServer("run/workload.sock")).start().catch((e) => e.message)).toContain("absolute path");
    expect(await (await newServer("/tmp/" + "x".repeat(120))).start().catch((e) => e.message)).toContain("limited to 107");
  });
});

describe("gRPC over HTTP/2 limits", () => {
  test("concurrent streams beyond the limit are refused (REFUSED_STREAM)", async () => {
    const h = await harness({ limits: { maxConcurrentStreams: 2 } });
    h.callers.set(SELF_UID, identity("many"));
    const s = session(h.socketPath);
    const headers = { ":method": "POST", ":path": X509, "content-type": "application/grpc", ...HEADER };
    const results = await Promise.race([Promise.all([0, 1, 2, 3].map(() => request(s, headers))), Bun.sleep(500).then(() => "streams still open")]);
    expect(results).toBe("streams still open"); // the two admitted streams stay open
    expect(h.server.stats().streams).toBe(2);
  });

  test("the refused streams carry REFUSED_STREAM", async () => {
    const h = await harness({ limits: { maxConcurrentStreams: 1 } });
    h.callers.set(SELF_UID, identity("many"));
    const s = session(h.socketPath);
    const headers = { ":method": "POST", ":path": X509, "content-type": "application/grpc", ...HEADER };
    void request(s, headers);
    const refused = await request(s, headers);
    expect(refused.rstCode).toBe(http2.constants.NGHTTP2_REFUSED_STREAM);
  });

  test("a request message over the size limit: RESOURCE_EXHAUSTED, before it is buffered", async () => {
    const h = await harness({ limits: { maxReceiveMessageBytes: 1024 } });
    h.callers.set(SELF_UID, identity("big"));
    const big = encodeValidateJwtSvidRequest({ audience: "a", svid: "x".repeat(4096) });
    const err = await grpcCall(h.socketPath, "/SpiffeWorkloadAPI/ValidateJWTSVID", big, { metadata: HEADER }).catch((e) => e);
    expect(err.code).toBe("ERR_GRPC_RESOURCE_EXHAUSTED");
  });

  test("not gRPC: GET → 405, wrong content-type → 415, unknown method → UNIMPLEMENTED, garbage message → INVALID_ARGUMENT", async () => {
    const h = await harness();
    h.callers.set(SELF_UID, identity("x"));
    const s = session(h.socketPath);
    expect((await request(s, { ":method": "GET", ":path": X509 })).status).toBe(405);
    expect((await request(s, { ":method": "POST", ":path": X509, "content-type": "application/json" })).status).toBe(415);
    expect((await request(s, { ":method": "POST", ":path": "/SpiffeWorkloadAPI/Nope", "content-type": "application/grpc", ...HEADER })).grpcStatus).toBe("12");
    const truncated = Uint8Array.of(0x0a, 0x05); // field 1, length 5, no bytes follow
    const err = await grpcCall(h.socketPath, "/SpiffeWorkloadAPI/FetchJWTSVID", truncated, { metadata: HEADER }).catch((e) => e);
    expect(err.code).toBe("ERR_GRPC_INVALID_ARGUMENT");
    expect(err.message).toContain("malformed request");
  });

  test("an idle connection (no open stream) is closed", async () => {
    const h = await harness({ limits: { idleTimeoutMs: 200 } });
    const s = session(h.socketPath);
    const closed = new Promise<string>((r) => s.on("close", () => r("closed")));
    expect(await Promise.race([closed, Bun.sleep(3000).then(() => "still open")])).toBe("closed");
    await until(() => h.server.stats().connections === 0);
  });

  test("connections per uid are capped", async () => {
    const h = await harness({ limits: { maxConnectionsPerUid: 2 } });
    h.callers.set(SELF_UID, identity("x"));
    const headers = { ":method": "POST", ":path": X509, "content-type": "application/grpc", ...HEADER };
    const a = session(h.socketPath);
    const b = session(h.socketPath);
    void request(a, headers);
    void request(b, headers);
    await Bun.sleep(100);
    expect(h.server.stats().connections).toBe(2);
    const c = session(h.socketPath);
    const closed = new Promise<string>((r) => c.on("close", () => r("closed")));
    void request(c, headers);
    expect(await Promise.race([closed, Bun.sleep(2000).then(() => "open")])).toBe("closed");
    expect(h.server.stats().connections).toBe(2);
  });
});

describe("shutdown and failures", () => {
  test("stop() ends open streams with UNAVAILABLE (clients reconnect, §4.2)", async () => {
    const h = await startHarness();
    h.callers.set(NOBODY, identity("agent"));
    const c = spawnClient(h.socketPath, ["x509", "--count", "5"]);
    await c.next();
    expect((await c.next()).type).toBe("x509");
    await h.close();
    expect(await c.next()).toMatchObject({ type: "error", codeName: "UNAVAILABLE" });
    await c.exited;
  });

  test("the calling process exits during attestation: PermissionDenied, audited (pid reuse guard)", async () => {
    const h = await harness();
    h.callers.set(NOBODY, identity("agent"));
    let client: ClientProcess | undefined;
    h.callers.during = async (peer) => {
      if (peer.uid !== NOBODY || !client) return;
      client.kill();
      await client.exited; // reaped: its pid is free for reuse now
    };
    client = spawnClient(h.socketPath, ["x509"]);
    await client.exited;
    await until(() => h.audit.ofKind("workload_api.deny").length > 0);
    const deny = h.audit.ofKind("workload_api.deny").at(-1);
    expect(deny).toMatchObject({ pid: client.pid, uid: NOBODY, details: { rpc: "FetchX509SVID", reason: "caller exited" } });
    expect(h.audit.ofKind("svid.x509.issue").filter((r) => r.pid === client!.pid)).toHaveLength(0);
  });

  test("attestor down → UNAVAILABLE; CA down → UNAVAILABLE (retry with backoff, Endpoint §6)", async () => {
    const h = await harness();
    h.callers.set(SELF_UID, identity("x"));
    h.callers.fail = true;
    expect((await grpcCall(h.socketPath, X509, encodeEmpty(), { metadata: HEADER, stopAfter: 1 }).catch((e) => e)).code).toBe("ERR_GRPC_UNAVAILABLE");
    h.callers.fail = false;
    h.ca.close(); // the real CA refuses to issue from now on
    expect(await h.svids.issueX509Svid({ spiffeId: identity("x").spiffeId, ttlSeconds: 60 }).catch((e) => e)).toMatchObject({ code: "ERR_CA_CLOSED" });
    const err = await grpcCall(h.socketPath, X509, encodeEmpty(), { metadata: HEADER, stopAfter: 1 }).catch((e) => e);
    expect(err.code).toBe("ERR_GRPC_UNAVAILABLE");
    expect(err.message).toBe("could not issue an X.509-SVID; try again");
  });
});
