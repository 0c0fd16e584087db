/**
 * The other tls: modes and entry points, all real: upgrade (plain HTTP from the agent, TLS
 * upstream; SPIFFE mTLS with the workload's SVID and a peer SPIFFE ID check), passthrough (bytes
 * untouched), the explicit CONNECT listener, upstream failure (502 naming the Service), the
 * discovery rewrite (both RFC 9728 well-known forms, the 401 challenge), on-demand leaves.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect as netConnect, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { discoveryRewriter } from "../../../src/proxy/index.ts";
import { toPem } from "../../../src/spiffe/workload-api/pem.ts";
import { keyIdentifier, signerFor, spkiOf } from "../../../src/spiffe/x509/keys.ts";
import { leafTemplate } from "../../../src/spiffe/x509/leaf.ts";
import { buildRootCertificate } from "../../../src/spiffe/x509/root.ts";
import { parseCertificate } from "../../../src/spiffe/index.ts";
import { createTestCa } from "../../support/test-ca.ts";
import { AGENT, agentWorkload, policyFrom, serviceDoc, startHarness, TD, type Harness } from "./support.ts";
import { startUpstream, type TestUpstream } from "./upstream.ts";

const ca = createTestCa("upstream test CA");
let up: TestUpstream;
let up2: TestUpstream;
let mtls2: ReturnType<typeof Bun.serve>;
let echo: Server;
let echoPort = 0;
let deadPort = 0;
let mtlsPort = 0;
let mtls: ReturnType<typeof Bun.serve>;
let h: Harness;
let tmp = "";
const resolver = { cached: (host: string) => (host === "api.test" || host === "spiffe-svc.test" ? { v4: ["127.0.0.1"], v6: [] } : { v4: [], v6: [] }) };

/** A SPIFFE trust domain made with sluice's own X.509 builder: root, the upstream's SVID, the agent's SVID. */
function spiffePki() {
  const now = Date.now();
  const rootKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  const rootDer = buildRootCertificate({ trustDomain: TD, privateKey: rootKey, label: "test", notBefore: now - 60_000, notAfter: now + 3_600_000 });
  const root = parseCertificate(rootDer);
  const tmpl = leafTemplate({ subject: root.subject, keyId: keyIdentifier(spkiOf(rootKey)), signer: signerFor(rootKey) });
  const svid = (id: string) => {
    const k = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const der = tmpl.issue({ spiffeId: id, spki: spkiOf(k.publicKey), notBefore: now - 60_000, notAfter: now + 3_600_000 });
    return { certPem: toPem("CERTIFICATE", der), keyPem: k.privateKey.export({ format: "pem", type: "pkcs8" }) as string };
  };
  return { rootPem: toPem("CERTIFICATE", rootDer), upstream: svid(`spiffe://${TD}/upstream`), agent: svid(AGENT) };
}

const pki = spiffePki();

function policyYaml(): string {
  return (
    agentWorkload() +
    serviceDoc("api", [`api.test:${up.port}`], "intercept") +
    serviceDoc("plain-api", [`127.0.0.1:${up2.port}`], "upgrade", "", "{app: plain}") +
    serviceDoc("raw", [`127.0.0.1:${echoPort}`], "passthrough") +
    serviceDoc("down", [`127.0.0.1:${deadPort}`], "upgrade") +
    serviceDoc("spiffe-ok", [`127.0.0.1:${mtlsPort}`], "upgrade", `  spiffeID: spiffe://${TD}/upstream\n`) +
    serviceDoc("spiffe-wrong", [`127.0.0.1:${mtls2.port}`], "upgrade", `  spiffeID: spiffe://${TD}/impostor\n`) +
    `---
apiVersion: sluice/v1alpha1
kind: CredentialSource
metadata: {name: api-oauth}
spec:
  oauth2AuthorizationCode: {usePKCE: true}
---
apiVersion: sluice/v1alpha1
kind: CredentialBinding
metadata: {name: agent-api}
spec:
  credentialSource: api-oauth
  workloadID: agent
  propagation: {injection: {selectors: [{app: api}]}}
`
  );
}

beforeAll(async () => {
  up = startUpstream(ca, ["api.test"]);
  up2 = startUpstream(ca, ["127.0.0.1"]);
  echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  echoPort = (echo.address() as { port: number }).port;
  mtls = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: pki.upstream.certPem, key: pki.upstream.keyPem, ca: pki.rootPem, requestCert: true, rejectUnauthorized: true },
    fetch: () => new Response("hello over SPIFFE mTLS"),
  });
  mtlsPort = mtls.port!;
  mtls2 = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: pki.upstream.certPem, key: pki.upstream.keyPem, ca: pki.rootPem, requestCert: true, rejectUnauthorized: true },
    fetch: () => new Response("must not be reached"),
  });
  // Last, so no server started after it can be given the same port.
  const dead = createServer();
  await new Promise<void>((r) => dead.listen(0, "127.0.0.1", r));
  deadPort = (dead.address() as { port: number }).port;
  await new Promise((r) => dead.close(r));
  tmp = mkdtempSync(join(tmpdir(), "sluice-proxy-modes-"));
  h = await startHarness({
    ca,
    snapshot: policyFrom(policyYaml()),
    destination: { address: "127.0.0.1", port: up.port },
    explicit: true,
    resolver,
    attestExplicitClient: () => ({ pid: 1, uid: 4242, gid: 4242, cgroupId: 1n, workload: AGENT, via: "explicit-proxy" }),
    svidFor: (id) => (id === AGENT ? { ...pki.agent, bundlePem: pki.rootPem } : undefined),
    rewriters: [discoveryRewriter({ issuer: "https://sluice.test", policy: { current: () => h.snapshot } })],
  });
  writeFileSync(join(tmp, "host-ca.pem"), h.proxy.hostCa.certPem);
});

afterAll(async () => {
  await h?.close();
  up?.stop();
  mtls?.stop(true);
  mtls2?.stop(true);
  up2?.stop();
  echo?.close();
  ca.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

const plainUrl = (path: string) => `http://127.0.0.1:${h.proxy.listening.v4!.port}${path}`;
/** Each test points the "kernel" at another destination: no connection reuse across them. */
const fresh = { headers: { connection: "close" } };
const tlsUrl = (path: string) => `https://127.0.0.1:${h.proxy.listening.v4!.port}${path}`;
const hostCa = () => ({ tls: { ca: h.proxy.hostCa.certPem, serverName: "api.test" }, headers: { connection: "close" } });

describe("upgrade", () => {
  test("the agent speaks plain HTTP, sluice speaks verified TLS upstream", async () => {
    h.destination = { address: "127.0.0.1", port: up2.port };
    const res = await fetch(plainUrl("/echo"), fresh);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { host: string }).host).toBe(`127.0.0.1:${h.proxy.listening.v4!.port}`);
  });

  test("mTLS with the workload's X.509-SVID to a SPIFFE upstream whose ID matches", async () => {
    h.destination = { address: "127.0.0.1", port: mtlsPort };
    const res = await fetch(plainUrl("/"), fresh);
    expect(await res.text()).toBe("hello over SPIFFE mTLS");
  });

  test("a SPIFFE upstream presenting another ID is refused with 502", async () => {
    h.destination = { address: "127.0.0.1", port: mtls2.port! };
    const res = await fetch(plainUrl("/"), fresh);
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(text).toContain("spiffe-wrong");
    expect(text).toContain(`spiffe://${TD}/upstream, expected spiffe://${TD}/impostor`);
  });

  test("upstream down: 502 naming the Service, no stack trace", async () => {
    h.destination = { address: "127.0.0.1", port: deadPort };
    const res = await fetch(plainUrl("/anything"), fresh);
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(text).toStartWith("sluice: upstream down failed:");
    expect(text).not.toContain("    at ");
  });
});

describe("passthrough", () => {
  test("bytes are relayed untouched, both ways", async () => {
    h.destination = { address: "127.0.0.1", port: echoPort };
    const payload = randomBytes(1 << 20);
    const back = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let n = 0;
      const s = netConnect(h.proxy.listening.v4!.port, "127.0.0.1", () => s.write(payload));
      s.on("data", (d: Buffer) => {
        chunks.push(d);
        n += d.length;
        if (n >= payload.length) s.end();
      });
      s.on("close", () => resolve(Buffer.concat(chunks)));
      s.on("error", reject);
    });
    expect(back.equals(payload)).toBe(true);
  });

  test("the IPv6 listener (::1, same port) serves redirected v6 connections too", async () => {
    expect(h.proxy.listening.v6).toEqual({ address: "::1", port: h.proxy.listening.v4!.port });
    h.destination = { address: "127.0.0.1", port: up2.port };
    const res = await fetch(`http://[::1]:${h.proxy.listening.v6!.port}/echo`, fresh);
    expect(res.status).toBe(200);
  });
});

describe("explicit CONNECT proxy", () => {
  async function curl(args: string[]) {
    const p = Bun.spawn(["curl", "-sS", "--noproxy", "", "-x", `http://127.0.0.1:${h.proxy.explicit!.port}`, "--cacert", join(tmp, "host-ca.pem"), ...args], { stdout: "pipe", stderr: "pipe" });
    const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
    return { code: await p.exited, out, err };
  }

  test("CONNECT to an intercepted Service: TLS from the host CA, relayed upstream", async () => {
    const r = await curl([`https://api.test:${up.port}/echo`]);
    expect(r.err).toBe("");
    expect(JSON.parse(r.out).host).toBe(`api.test:${up.port}`);
  });

  test("CONNECT to something that is not a Service is refused", async () => {
    const r = await curl([`https://other.test:${up.port}/echo`]);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("403");
  });
});

describe("discovery rewrite (RFC 9728)", () => {
  test("both well-known forms name sluice as the authorization server; resource unchanged", async () => {
    h.destination = { address: "127.0.0.1", port: up.port };
    for (const path of ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"]) {
      const res = await fetch(tlsUrl(path), hostCa());
      const doc = (await res.json()) as Record<string, unknown>;
      expect(doc.authorization_servers).toEqual(["https://sluice.test"]);
      expect(doc.resource).toBe(`https://127.0.0.1:${h.proxy.listening.v4!.port}${path.slice("/.well-known/oauth-protected-resource".length) || "/"}`);
      expect(doc.scopes_supported).toEqual(["mcp"]);
      expect(Number(res.headers.get("content-length"))).toBe(JSON.stringify(doc).length);
    }
  });

  test("a 401 challenge keeps resource_metadata on the resource's host, whose document is rewritten", async () => {
    const res = await fetch(tlsUrl("/mcp"), hostCa());
    expect(res.status).toBe(401);
    const challenge = res.headers.get("www-authenticate")!;
    const url = /resource_metadata="([^"]+)"/.exec(challenge)![1]!;
    expect(new URL(url).pathname).toBe("/.well-known/oauth-protected-resource/mcp");
    const doc = (await (await fetch(tlsUrl(new URL(url).pathname), hostCa())).json()) as { authorization_servers: string[] };
    expect(doc.authorization_servers).toEqual(["https://sluice.test"]);
  });

  test("a Service without an oauth2AuthorizationCode binding is not rewritten", async () => {
    h.destination = { address: "127.0.0.1", port: up2.port };
    const doc = (await (await fetch(plainUrl("/.well-known/oauth-protected-resource"), fresh)).json()) as { authorization_servers: string[] };
    expect(doc.authorization_servers).toEqual(["https://real-as.example"]);
  });
});

describe("host CA leaves", () => {
  test("ahead of time for intercepted Services, on demand (cached) for other names", () => {
    const before = h.proxy.hostCa.stats();
    expect(before.prepared).toBe(1);
    const a = h.proxy.hostCa.identityFor("unknown.test");
    const b = h.proxy.hostCa.identityFor("unknown.test");
    expect(a).toBe(b);
    expect(h.proxy.hostCa.stats().onDemand).toBe(before.onDemand + 1);
    expect(h.proxy.hostCa.identityFor("api.test").names).toEqual(["api.test"]);
  });
});
