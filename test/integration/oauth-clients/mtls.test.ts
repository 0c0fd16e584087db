/**
 * The mTLS listener with real TLS: X.509-SVIDs from real CAs as client certificates (node:https
 * client), SPIFFE-backed registration over mTLS and spiffe_x509 client authentication, refusals
 * for a non-SVID certificate, a stranger trust domain, no certificate, and the public listener.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { request as httpsRequest } from "node:https";
import { X509Certificate } from "node:crypto";
import type { Elysia } from "elysia";
import { silentLogger } from "../../../src/log/index.ts";
import { callerContextFor, startMtlsListener, type MtlsListener, type RequestIpSource } from "../../../src/oauth/clients/index.ts";
import { readForm } from "../../../src/oauth/http/form.ts";
import { errorResponse, json } from "../../../src/oauth/http/respond.ts";
import type { RouteModule } from "../../../src/server/http.ts";
import { localTls } from "../../unit/spiffe/tls.ts";
import { MCP_SDK_LIKE, openFixture, TD, type Fixture } from "./support.ts";

const pem = (label: string, der: Uint8Array) => `-----BEGIN ${label}-----\n${Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END ${label}-----\n`;

/** A stand-in for the token endpoint (the core part owns the real one): authenticates and says who. */
const whoami = (f: Fixture): RouteModule => ({
  name: "test-whoami",
  mount(app: Elysia) {
    app.post("/test/whoami", async ({ request, server }) => {
      try {
        const params = await readForm(request);
        const caller = await callerContextFor(request, server as RequestIpSource | null);
        const a = await f.clients.registry.authenticate({ params, headers: request.headers, caller, endpoint: "https://as.example.org/test/whoami" });
        return json({ clientId: a.client.clientId, method: a.method, spiffeId: a.spiffeId ?? null });
      } catch (err) {
        return errorResponse(err, silentLogger);
      }
    }, { parse: "none" });
  },
});

let f: Fixture;
let mtls: MtlsListener;
let roots: string;
beforeAll(async () => {
  f = await openFixture({ registrationRate: { ratePerSecond: 1000, burst: 1000 }, extraModules: (fx) => [whoami(fx)] });
  mtls = await startMtlsListener({ listen: "127.0.0.1:0", app: f.app, ca: f.ca, logger: silentLogger });
  roots = f.ca.bundle().x509Authorities.map((d) => pem("CERTIFICATE", d)).join("");
});
afterAll(async () => {
  await mtls.close();
  await f.close();
});

interface Answer {
  status: number;
  body: Record<string, unknown>;
  serverCert: X509Certificate | undefined;
}

function call(path: string, body: string, contentType: string, client?: { cert: string; key: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let serverCert: X509Certificate | undefined;
    const req = httpsRequest(
      `${mtls.url}${path}`,
      {
        method: "POST",
        headers: { "content-type": contentType, "content-length": Buffer.byteLength(body) },
        ca: roots,
        ...(client ?? {}),
        agent: false,
        // The server presents an X.509-SVID (no DNS/IP SAN): check its SPIFFE ID instead of a host name.
        checkServerIdentity: (_host, cert) => {
          serverCert = new X509Certificate(cert.raw);
          return cert.subjectaltname === `URI:spiffe://${TD}/sluice/oauth` ? undefined : new Error(`unexpected server ${cert.subjectaltname}`);
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString()), serverCert }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const svidFor = (ca: Fixture["ca"], path: string) => {
  const s = ca.issueX509Svid({ spiffeId: `spiffe://${ca.trustDomain}/${path}` });
  return { cert: s.certChain.map((d) => pem("CERTIFICATE", d)).join(""), key: pem("PRIVATE KEY", s.privateKey!) };
};
const form = (p: Record<string, string>) => new URLSearchParams(p).toString();
const FORM = "application/x-www-form-urlencoded";

describe("mTLS listener: X.509-SVID registration and spiffe_x509 authentication", () => {
  let clientId: string;
  const workload = `spiffe://${TD}/batch/job`;
  test("registration over mTLS binds the client to the certificate's SPIFFE ID", async () => {
    const r = await call("/oauth2/register", JSON.stringify({ grant_types: ["client_credentials"], response_types: [], token_endpoint_auth_method: "spiffe_x509" }), "application/json", svidFor(f.ca, "batch/job"));
    expect(r.status).toBe(201);
    expect(r.body.spiffe_id).toBe(workload);
    expect(r.serverCert?.subjectAltName).toBe(`URI:spiffe://${TD}/sluice/oauth`);
    clientId = r.body.client_id as string;
  });
  test("authenticates with the registered client_id", async () => {
    const r = await call("/test/whoami", form({ client_id: clientId }), FORM, svidFor(f.ca, "batch/job"));
    expect(r.body).toEqual({ clientId, method: "spiffe_x509", spiffeId: workload });
  });
  test("client_id may be the SPIFFE ID itself (draft §3.2)", async () => {
    const r = await call("/test/whoami", form({ client_id: workload }), FORM, svidFor(f.ca, "batch/job"));
    expect(r.body).toEqual({ clientId, method: "spiffe_x509", spiffeId: workload });
  });
  test("a SPIFFE ID client_id that is not the certificate's", async () => {
    const r = await call("/test/whoami", form({ client_id: `spiffe://${TD}/other` }), FORM, svidFor(f.ca, "batch/job"));
    expect(r.status).toBe(401);
    expect(r.body.error).toBe("invalid_client");
  });
  test("another workload's SVID for this client", async () => {
    const r = await call("/test/whoami", form({ client_id: clientId }), FORM, svidFor(f.ca, "intruder"));
    expect(r.status).toBe(401);
    expect(r.body.error_description).toContain("does not match");
  });
  test("a certificate that is not an SVID", async () => {
    const tls = localTls();
    const r = await call("/test/whoami", form({ client_id: clientId }), FORM, { cert: tls.cert, key: tls.key });
    expect(r.status).toBe(401);
    expect(r.body.error).toBe("invalid_client");
    expect(r.body.error_description).toContain("client certificate rejected");
  });
  test("registration with a certificate that is not an SVID is refused, not treated as anonymous", async () => {
    const tls = localTls();
    const r = await call("/oauth2/register", JSON.stringify(MCP_SDK_LIKE), "application/json", { cert: tls.cert, key: tls.key });
    expect(r.status).toBe(401);
    expect(r.body.error).toBe("invalid_client");
  });
  test("an SVID of a trust domain sluice does not trust", async () => {
    const r = await call("/test/whoami", form({ client_id: clientId }), FORM, svidFor(f.stranger, "batch/job"));
    expect(r.status).toBe(401);
    expect(r.body.error_description).toContain("no bundle for trust domain other.test");
  });
  test("no client certificate", async () => {
    const r = await call("/test/whoami", form({ client_id: clientId }), FORM);
    expect(r.status).toBe(401);
    expect(r.body.error_description).toContain("mTLS listener");
  });
  test("the public listener never sees certificates, whatever the headers say", async () => {
    const s = svidFor(f.ca, "batch/job");
    const response = await fetch(`${f.url}/test/whoami`, {
      method: "POST",
      headers: { "content-type": FORM, "x-client-cert": encodeURIComponent(s.cert), "x-ssl-client-cert": s.cert.replaceAll("\n", " ") },
      body: form({ client_id: clientId }),
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as Record<string, unknown>).error_description).toContain("mTLS listener");
  });
  test("unknown paths answer 404 through the same app", async () => {
    const r = await call("/nope", "", FORM, svidFor(f.ca, "batch/job"));
    expect(r.status).toBe(404);
  });
});
