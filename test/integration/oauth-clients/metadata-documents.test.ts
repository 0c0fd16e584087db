/**
 * Client ID Metadata Documents fetched from a real HTTPS server on loopback (test CA). The fetch
 * path runs with the address policy opened for the test (`allowAddress: () => true`); the default
 * policy's refusals are checked by resolution only: the server sees no request.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { ASSERTION_TYPE_JWT_BEARER, specialUseReason } from "../../../src/oauth/clients/index.ts";
import { OAuthError } from "../../../src/oauth/types.ts";
import { lookup } from "node:dns/promises";
import { OID } from "../../../src/spiffe/der/oids.ts";
import { toPem } from "../../unit/spiffe/helpers.ts";
import { makeCert } from "../../unit/spiffe/pki.ts";
import { localTls } from "../../unit/spiffe/tls.ts";
import { ISSUER, openFixture, type Fixture } from "./support.ts";

const tls = localTls();
/** A second server known by name (DNS SAN localhost), to exercise resolve → pin → SNI + Host. */
const namedCa = makeCert({ kind: "ca" });
const namedLeaf = makeCert({ kind: "leaf", issuer: namedCa, eku: [OID.serverAuth], dnsNames: ["localhost"] });
let namedBase = "";
let namedServer: ReturnType<typeof Bun.serve>;
const hits = new Map<string, number>();
let base = "";
let jwks: unknown;
let cimdKey: CryptoKey;
let server: ReturnType<typeof Bun.serve>;
let open: Fixture;
let impatient: Fixture;
let strict: Fixture;

const doc = (path: string, extra: Record<string, unknown> = {}, origin = base) => ({
  client_id: `${origin}${path}`,
  client_name: "CIMD agent",
  redirect_uris: ["http://127.0.0.1/callback"],
  token_endpoint_auth_method: "none",
  ...extra,
});

beforeAll(async () => {
  const pair = await generateKeyPair("ES256");
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: "d1", alg: "ES256" }] };
  cimdKey = pair.privateKey as CryptoKey;
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: tls.cert, key: tls.key },
    fetch(req) {
      const path = new URL(req.url).pathname;
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const j = (body: unknown, headers: Record<string, string> = {}) => new Response(JSON.stringify(body), { headers: { "content-type": "application/json", ...headers } });
      switch (path) {
        case "/client.json":
          return j(doc(path));
        case "/cached.json":
          return j(doc(path), { "cache-control": "max-age=600" });
        case "/redirect.json":
          return new Response(null, { status: 302, headers: { location: `${base}/client.json` } });
        case "/big.json":
          return j(doc(path, { client_uri: `https://a.example/${"x".repeat(6000)}` }));
        case "/mismatch.json":
          return j(doc("/client.json"));
        case "/text.json":
          return new Response(JSON.stringify(doc(path)), { headers: { "content-type": "text/plain" } });
        case "/secret.json":
          return j(doc(path, { client_secret: "s3cret" }));
        case "/spiffe.json":
          return j(doc(path, { spiffe_id: "spiffe://example.org/a" }));
        case "/no-name.json":
          return j({ ...doc(path), client_name: undefined });
        case "/http-redirect-uri.json":
          return j(doc(path, { redirect_uris: ["http://evil.example/cb"] }));
        case "/not-json.json":
          return new Response("{oops", { headers: { "content-type": "application/json" } });
        case "/pkjwt.json":
          return j(doc(path, { token_endpoint_auth_method: "private_key_jwt", jwks_uri: `${base}/jwks.json` }));
        case "/jwks.json":
          return j(jwks);
        case "/slow.json":
          return new Promise<Response>((resolve) => setTimeout(() => resolve(j(doc(path))), 3_000));
        default:
          return new Response("not found", { status: 404 });
      }
    },
  });
  base = `https://127.0.0.1:${server.port}`;
  namedServer = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: toPem(namedLeaf.der), key: namedLeaf.key.export({ type: "pkcs8", format: "pem" }).toString() },
    fetch(req) {
      hits.set("named", (hits.get("named") ?? 0) + 1);
      // The client_id is built from the Host header: a pinned fetch must still send the name.
      return new Response(JSON.stringify(doc("/named.json", {}, `https://${req.headers.get("host")}`)), { headers: { "content-type": "application/json" } });
    },
  });
  namedBase = `https://localhost:${namedServer.port}`;
  const cas = tls.caPem + toPem(namedCa.der);
  open = await openFixture({ fetchOptions: { allowAddress: () => true, ca: cas } });
  strict = await openFixture({ fetchOptions: { ca: cas } });
  impatient = await openFixture({ fetchOptions: { allowAddress: () => true, ca: cas, timeoutMs: 200 } });
});
afterAll(async () => {
  await open.close();
  await strict.close();
  await impatient.close();
  server.stop(true);
  namedServer.stop(true);
});

async function refusal(f: Fixture, clientId: string): Promise<OAuthError> {
  const err = await f.clients.registry.get(clientId).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OAuthError);
  expect((err as OAuthError).error).toBe("invalid_client");
  return err as OAuthError;
}

describe("fetching (address policy opened for the loopback test server)", () => {
  test("a valid document becomes a client", async () => {
    const client = await open.clients.registry.get(`${base}/client.json`);
    expect(client).toMatchObject({ clientId: `${base}/client.json`, clientName: "CIMD agent", origin: "metadata-document", tokenEndpointAuthMethod: "none", redirectUris: ["http://127.0.0.1/callback"] });
    expect(open.clients.registry.redirectUriAllowed(client!, "http://127.0.0.1:49152/callback")).toBe(true);
    expect(open.clients.registry.redirectUriAllowed(client!, "http://127.0.0.1:49152/other")).toBe(false);
  });
  test("cached: a second lookup does not fetch again", async () => {
    await open.clients.registry.get(`${base}/cached.json`);
    await open.clients.registry.get(`${base}/cached.json`);
    expect(hits.get("/cached.json")).toBe(1);
  });
  test("redirects are not followed", async () => {
    const before = hits.get("/client.json") ?? 0;
    expect((await refusal(open, `${base}/redirect.json`)).description).toContain("redirect");
    expect(hits.get("/client.json") ?? 0).toBe(before);
  });
  test("too big (5 KiB cap)", async () => expect((await refusal(open, `${base}/big.json`)).description).toContain("larger than"));
  test("client_id inside differs from the URL", async () => expect((await refusal(open, `${base}/mismatch.json`)).description).toContain("not the URL"));
  test("not application/json", async () => expect((await refusal(open, `${base}/text.json`)).description).toContain("text/plain"));
  test("malformed JSON", async () => expect((await refusal(open, `${base}/not-json.json`)).description).toContain("not valid JSON"));
  test("a client secret in the document", async () => expect((await refusal(open, `${base}/secret.json`)).description).toContain("client_secret"));
  test("a document cannot claim a SPIFFE ID", async () => expect((await refusal(open, `${base}/spiffe.json`)).description).toContain("spiffe_id"));
  test("client_name is required", async () => expect((await refusal(open, `${base}/no-name.json`)).description).toContain("client_name"));
  test("redirect URIs are validated like a registration", async () => expect((await refusal(open, `${base}/http-redirect-uri.json`)).description).toContain("non-loopback"));
  test("HTTP 404", async () => expect((await refusal(open, `${base}/missing.json`)).description).toContain("404"));
  test("a failure is remembered briefly: no refetch loop", async () => {
    await refusal(open, `${base}/missing.json`);
    await refusal(open, `${base}/missing.json`);
    expect(hits.get("/missing.json")).toBe(1);
  });
  test("a server that does not answer in time", async () => expect((await refusal(impatient, `${base}/slow.json`)).description).toContain("no answer within 200 ms"));
  test("client_id URL rules: a path, no fragment, no dot segments, normalized", async () => {
    expect((await refusal(open, `${base}/`)).description).toContain("path component");
    expect((await refusal(open, `${base}/client.json#x`)).description).toContain("fragment");
    expect((await refusal(open, `${base}/a/../client.json`)).description).toContain(". or ..");
  });
  test("private_key_jwt with keys from the document's jwks_uri", async () => {
    const clientId = `${base}/pkjwt.json`;
    const assertion = await new SignJWT({ jti: crypto.randomUUID() }).setProtectedHeader({ alg: "ES256", kid: "d1" }).setIssuer(clientId).setSubject(clientId).setAudience(ISSUER).setExpirationTime("1m").sign(cimdKey);
    const a = await open.clients.registry.authenticate({
      params: new URLSearchParams({ client_id: clientId, client_assertion_type: ASSERTION_TYPE_JWT_BEARER, client_assertion: assertion }),
      headers: new Headers(),
      caller: {},
      endpoint: `${ISSUER}/oauth2/token`,
    });
    expect(a).toMatchObject({ method: "private_key_jwt" });
    expect(hits.get("/jwks.json")).toBeGreaterThanOrEqual(1);
  });
});

describe("by host name", () => {
  test("resolved, pinned to the checked address, with SNI and Host set to the name", async () => {
    const first = (await lookup("localhost", { all: true, verbatim: true }))[0]?.address;
    if (first !== "127.0.0.1") return console.warn(`skipped: localhost resolves to ${first} first here; the named test server listens on 127.0.0.1`);
    const client = await open.clients.registry.get(`${namedBase}/named.json`);
    expect(client?.clientId).toBe(`${namedBase}/named.json`);
  });
  test("the default policy refuses a name that resolves to loopback, without connecting", async () => {
    const before = hits.get("named") ?? 0;
    expect((await refusal(strict, `${namedBase}/other.json`)).description).toContain("resolves to");
    expect(hits.get("named") ?? 0).toBe(before);
  });
});

describe("the default address policy (refused before any connection)", () => {
  test("https://127.0.0.1/… is refused as loopback and never fetched", async () => {
    const before = hits.get("/client.json") ?? 0;
    const err = await refusal(strict, `${base}/client.json`);
    expect(err.description).toContain("loopback");
    expect(hits.get("/client.json") ?? 0).toBe(before);
  });
  for (const [address, why] of [
    ["[::1]", "loopback"],
    ["10.1.2.3", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "link-local"],
    ["100.64.0.1", "CGNAT"],
    ["224.0.0.1", "multicast"],
    ["192.0.2.7", "documentation"],
    ["[fd00::1]", "unique local"],
    ["[::ffff:7f00:1]", "loopback"],
    ["0.0.0.0", "this network"],
  ] as const) {
    test(`${address}: ${why}`, async () => {
      expect((await refusal(strict, `https://${address}/client.json`)).description).toContain(why);
    });
  }
  test("public addresses pass the policy", () => {
    expect(specialUseReason("93.184.215.14")).toBeUndefined();
    expect(specialUseReason("2606:4700::1111")).toBeUndefined();
  });
});
