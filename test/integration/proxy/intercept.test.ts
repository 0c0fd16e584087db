/**
 * Intercept mode, all real: a Bun HTTPS upstream with a test CA (proxy.upstreamCaFile), the proxy
 * terminating TLS with a host-CA leaf, and real clients (fetch, curl, node:tls) trusting the host
 * CA. The kernel lookup is injected (test/kernel has the real redirect end to end).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { connect as tlsConnect } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Injector } from "../../../src/proxy/index.ts";
import { createTestCa } from "../../support/test-ca.ts";
import { agentWorkload, policyFrom, serviceDoc, startHarness, type Harness } from "./support.ts";
import { startUpstream, type TestUpstream } from "./upstream.ts";

const ca = createTestCa("upstream test CA");
let up: TestUpstream;
let bulk: Bun.Subprocess<"ignore", "pipe", "inherit">;
let bulkPort = 0;
let h: Harness;
let caFile = "";
let tmp = "";

const injector: Injector = {
  decide(_c, head) {
    if (head.headers.some(([n]) => n.toLowerCase() === "x-deny")) return { kind: "respond", status: 403, body: "refused by test injector\n", label: "refused" };
    const auth = head.headers.find(([n]) => n.toLowerCase() === "authorization")?.[1];
    if (auth === "Bearer sluice-jwt") return { kind: "forward", setHeaders: [["Authorization", "Bearer upstream-secret"]], removeHeaders: ["x-sluice-hint"], label: "injected" };
    return { kind: "forward", label: "passed" };
  },
};

const proxyUrl = (path: string) => `https://127.0.0.1:${h.proxy.listening.v4!.port}${path}`;
const tlsOpts = () => ({ tls: { ca: h.proxy.hostCa.certPem, serverName: "api.test" } });

async function curl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(["curl", "-sS", "--cacert", caFile, "--resolve", `api.test:${h.proxy.listening.v4!.port}:127.0.0.1`, ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code: await p.exited, out, err };
}

beforeAll(async () => {
  up = startUpstream(ca, ["api.test"]);
  tmp = mkdtempSync(join(tmpdir(), "sluice-proxy-client-"));
  const bulkLeaf = ca.leaf(["api.test"]);
  writeFileSync(join(tmp, "bulk.pem"), bulkLeaf.certPem);
  writeFileSync(join(tmp, "bulk.key"), bulkLeaf.keyPem);
  bulk = Bun.spawn([process.execPath, join(import.meta.dir, "bulk-upstream.ts"), join(tmp, "bulk.pem"), join(tmp, "bulk.key")], { stdout: "pipe", stderr: "inherit", stdin: "ignore" });
  const reader = bulk.stdout.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  bulkPort = (JSON.parse(first.split("\n")[0]!) as { port: number }).port;
  const snapshot = policyFrom(agentWorkload() + serviceDoc("api", [`api.test:${up.port}`, `api.test:${bulkPort}`], "intercept"));
  h = await startHarness({
    ca,
    snapshot,
    destination: { address: "127.0.0.1", port: up.port },
    injector,
    resolver: { cached: (host) => (host === "api.test" ? { v4: ["127.0.0.1"], v6: [] } : { v4: [], v6: [] }) },
  });
  caFile = join(tmp, "host-ca.pem");
  writeFileSync(caFile, h.proxy.hostCa.certPem);
});

afterAll(async () => {
  await h?.close();
  up?.stop();
  bulk?.kill();
  ca.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

describe("intercept", () => {
  test("the injector's header reaches the upstream; the agent's token does not", async () => {
    const res = await fetch(proxyUrl("/echo"), { headers: { authorization: "Bearer sluice-jwt", "x-sluice-hint": "drop me" }, ...tlsOpts() });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { headers: Record<string, string>; host: string };
    expect(body.headers.authorization).toBe("Bearer upstream-secret");
    expect(body.headers["x-sluice-hint"]).toBeUndefined();
    expect(up.seen).not.toContain("Bearer sluice-jwt");
    expect(h.proxy.metrics.requests("api", "injected")).toBeGreaterThanOrEqual(1);
  });

  test("keep-alive: several requests over one agent connection, upstream connection reused", async () => {
    const before = h.proxy.metrics.connections("intercept");
    const r = await curl(["-H", "authorization: Bearer sluice-jwt", `https://api.test:${h.proxy.listening.v4!.port}/echo`, `https://api.test:${h.proxy.listening.v4!.port}/echo`, `https://api.test:${h.proxy.listening.v4!.port}/echo`]);
    expect(r.code).toBe(0);
    expect(r.out.split("upstream-secret").length - 1).toBe(3);
    expect(h.proxy.metrics.connections("intercept") - before).toBe(1);
    expect(h.proxy.pool.idleCount()).toBeGreaterThanOrEqual(1);
  });

  test("the injector may answer by itself", async () => {
    const res = await fetch(proxyUrl("/echo"), { headers: { "x-deny": "1" }, ...tlsOpts() });
    expect(res.status).toBe(403);
    expect(await res.text()).toBe("refused by test injector\n");
  });

  test("ALPN toward the agent is http/1.1 and the leaf is from the host CA", async () => {
    const info = await new Promise<{ alpn: string | false; issuer: string }>((resolve, reject) => {
      const s = tlsConnect({ host: "127.0.0.1", port: h.proxy.listening.v4!.port, servername: "api.test", ca: h.proxy.hostCa.certPem, ALPNProtocols: ["h2", "http/1.1"] }, () => {
        resolve({ alpn: s.alpnProtocol ?? false, issuer: String(s.getPeerCertificate().issuer.CN) });
        s.end();
      });
      s.on("error", reject);
    });
    expect(info.alpn).toBe("http/1.1");
    expect(info.issuer).toStartWith("sluice host CA");
  });

  test("chunked upload and chunked download of 64 MiB stream through with bounded memory", async () => {
    const size = Number(process.env.PROXY_TEST_MIB ?? 64) * 1024 * 1024;
    const file = join(tmp, "upload.bin");
    const data = randomBytes(size);
    writeFileSync(file, data);
    const expected = createHash("sha256").update(data).digest("hex");
    // The large bodies come from an upstream in its own process: this process is the proxy (and curl is another).
    h.destination = { address: "127.0.0.1", port: bulkPort };
    // Live memory (external buffers after a forced GC), sampled while the bodies move: RSS would
    // mostly show garbage chunks the collector has not reclaimed yet.
    let lo = Infinity;
    let hi = 0;
    const timer = setInterval(() => {
      Bun.gc(true);
      const e = process.memoryUsage().external;
      lo = Math.min(lo, e);
      hi = Math.max(hi, e);
    }, 50);
    const upRes = await curl(["-H", "Transfer-Encoding: chunked", "-T", file, `https://api.test:${h.proxy.listening.v4!.port}/upload`]);
    expect(upRes.err).toBe("");
    expect(JSON.parse(upRes.out)).toEqual({ bytes: size, sha256: expected });
    const down = await curl(["-o", "/dev/null", "-w", "%{size_download} %{http_code}", `https://api.test:${h.proxy.listening.v4!.port}/download?bytes=${size}`]);
    clearInterval(timer);
    h.destination = { address: "127.0.0.1", port: up.port };
    if (process.env.PROXY_TEST_MIB) console.log("live memory range MiB", (hi - lo) / 1048576);
    expect(down.out).toBe(`${size} 200`);
    // The proxy never holds a whole body: live memory moves by a few MiB at most.
    expect(hi - lo).toBeLessThan(16 * 1024 * 1024);
  }, 60_000);

  test("Server-Sent Events arrive one by one before the stream ends", async () => {
    const res = await fetch(proxyUrl("/sse"), tlsOpts());
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    for (let i = 1; i <= 3; i++) {
      up.release();
      let got = "";
      while (!got.includes(`data: event ${i}\n\n`)) {
        const { value, done } = await reader.read();
        expect(done).toBe(false);
        got += dec.decode(value);
      }
      expect(got).toContain(`id: ${i}`);
    }
    expect((await reader.read()).done).toBe(true);
  });

  test("a malformed request gets 400 and closes only its own connection", async () => {
    const ok = await fetch(proxyUrl("/echo"), tlsOpts());
    expect(ok.status).toBe(200);
    const reply = await new Promise<string>((resolve, reject) => {
      let buf = "";
      const s = tlsConnect({ host: "127.0.0.1", port: h.proxy.listening.v4!.port, servername: "api.test", ca: h.proxy.hostCa.certPem }, () => s.write("GET /echo HTTP/1.1\r\nHost: api.test\r\nBad Header : x\r\n\r\n"));
      s.on("data", (d) => (buf += d.toString()));
      s.on("end", () => resolve(buf));
      s.on("error", reject);
    });
    expect(reply).toStartWith("HTTP/1.1 400 Bad Request\r\n");
    expect(reply).toContain("invalid header name");
    const again = await fetch(proxyUrl("/echo"), tlsOpts());
    expect(again.status).toBe(200);
  });

  test("a head over the limit gets 431", async () => {
    const res = await fetch(proxyUrl("/echo"), { headers: { "x-big": "a".repeat(70 * 1024) }, ...tlsOpts() });
    expect(res.status).toBe(431);
  });

  test("leaves: minted ahead of time for the policy's Service names", () => {
    expect(h.proxy.hostCa.stats().prepared).toBe(1);
    const id = h.proxy.hostCa.identityFor("api.test");
    expect(id.names).toEqual(["api.test"]);
    expect(h.proxy.hostCa.stats().onDemand).toBe(0);
  });

  test("a connection without a kernel record is refused and audited", async () => {
    h.recorded = false;
    try {
      const err = await fetch(proxyUrl("/echo"), tlsOpts()).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err).toBeInstanceOf(Error);
    } finally {
      h.recorded = true;
    }
    await h.audit.flush();
    expect(h.audit.tail(5).some((r) => r.kind === "proxy.connection" && r.decision === "deny")).toBe(true);
  });
});
