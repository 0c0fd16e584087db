/** Federation: other trust domains' bundles from a file or a real HTTPS bundle endpoint, refreshed, last good kept. */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Elysia } from "elysia";
import { silentLogger } from "../../../src/log/index.ts";
import { BundleSet, bundleRoutes, bundleToJson, FederatedBundles, verifyJwtSvid, verifyX509Svid, type FederationSource, type TrustBundle } from "../../../src/spiffe/index.ts";
import { memoryLogger, openCaFixture, tempRoot, TD, type CaFixture } from "./helpers.ts";
import { localTls } from "./tls.ts";

const PEER = "peer.org";
const PEER_ID = `spiffe://${PEER}/billing`;
let peer: CaFixture;
const tmp = tempRoot("sluice-federation-");
beforeAll(async () => (peer = await openCaFixture({ trustDomain: PEER })));
afterAll(async () => {
  await peer.cleanup();
  tmp.cleanup();
});

let federation: FederatedBundles | undefined;
afterEach(() => federation?.stop());

function federate(sources: FederationSource[], more: Partial<ConstructorParameters<typeof FederatedBundles>[0]> = {}): { bundles: BundleSet; fed: FederatedBundles } {
  const bundles = new BundleSet();
  federation = new FederatedBundles({ bundles, sources, logger: silentLogger, ownTrustDomain: TD, ...more });
  return { bundles, fed: federation };
}

const nextChange = (bundles: BundleSet, td: string, timeoutMs = 5000) =>
  new Promise<TrustBundle>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no bundle change for ${td} within ${timeoutMs} ms`)), timeoutMs);
    const off = bundles.onBundleChange((changed, b) => {
      if (changed !== td || !b) return;
      clearTimeout(timer);
      off();
      resolve(b);
    });
  });

describe("from a file", () => {
  test("loads the peer's bundle: its SVIDs (X.509 and JWT) verify here", async () => {
    const file = join(tmp.root, "peer.json");
    writeFileSync(file, bundleToJson(peer.ca.bundle()));
    const { bundles, fed } = federate([{ trustDomain: PEER, bundleFile: file }]);
    await fed.start();
    expect(bundles.get(PEER)!.sequence).toBe(peer.ca.bundle().sequence);
    expect(verifyX509Svid(peer.ca.issueX509Svid({ spiffeId: PEER_ID }).certChain, bundles).spiffeId).toBe(PEER_ID);
    expect(verifyJwtSvid(peer.ca.issueJwtSvid({ spiffeId: PEER_ID, audience: "me" }).token, bundles, { audience: "me" }).spiffeId).toBe(PEER_ID);
    expect(fed.status()[0]).toMatchObject({ trustDomain: PEER, source: file, failures: 0, sequence: peer.ca.bundle().sequence });
  });

  test("a changed file is picked up and announced; an unchanged one is not; a broken one keeps the last good", async () => {
    const file = join(tmp.root, "peer2.json");
    writeFileSync(file, bundleToJson(peer.ca.bundle()));
    const { logger, lines } = memoryLogger();
    const { bundles, fed } = federate([{ trustDomain: PEER, bundleFile: file }], { logger });
    await fed.start();
    const events: number[] = [];
    bundles.onBundleChange((td, b) => td === PEER && events.push(b!.sequence));
    await fed.refreshNow(PEER);
    expect(events).toEqual([]);

    peer.ca.rotateNow();
    writeFileSync(file, bundleToJson(peer.ca.bundle()));
    await fed.refreshNow(PEER);
    expect(events).toEqual([peer.ca.bundle().sequence]);
    expect(bundles.get(PEER)!.x509Authorities.length).toBe(2);

    writeFileSync(file, "{ not json");
    await fed.refreshNow(PEER);
    expect(bundles.get(PEER)!.x509Authorities.length).toBe(2);
    expect(fed.status()[0]).toMatchObject({ failures: 1, lastError: expect.stringContaining("not valid JSON") });
    expect(lines.some((l) => l.level === "warn" && String(l.msg).includes("keeping the last good bundle"))).toBe(true);
  });

  test("configuration mistakes are refused", () => {
    expect(() => federate([{ trustDomain: TD, bundleFile: "x" }])).toThrow(/own trust domain/);
    expect(() => federate([{ trustDomain: PEER, bundleFile: "x" }, { trustDomain: PEER, bundleFile: "y" }])).toThrow(/twice/);
    expect(() => federate([{ trustDomain: PEER, bundleEndpointUrl: "http://127.0.0.1/b" }])).toThrow(/https/);
    expect(() => federate([{ trustDomain: "Peer.org", bundleFile: "x" }])).toThrow(/invalid trust domain/);
  });
});

describe("from an HTTPS bundle endpoint (a real sluice bundle route on 127.0.0.1)", () => {
  const tls = localTls();
  /** What the endpoint does next: serve the peer's bundle (with a refresh hint), fail, redirect, or stall. */
  let mode: "bundle" | "fail" | "redirect" | "huge" | "stall" = "bundle";
  let hint = 1;
  let app: Elysia;
  let url: string;

  beforeAll(() => {
    const routes = bundleRoutes({ bundle: () => ({ ...peer.ca.bundle(), refreshHint: hint }) });
    app = new Elysia();
    app.onRequest(async () => {
      if (mode === "fail") return new Response("down", { status: 503 });
      if (mode === "redirect") return new Response(null, { status: 302, headers: { location: "https://127.0.0.1:1/elsewhere" } });
      if (mode === "huge") return new Response("x".repeat(2 << 20), { headers: { "content-type": "application/json" } });
      if (mode === "stall") await Bun.sleep(2000);
    });
    routes.mount(app);
    app.listen({ hostname: "127.0.0.1", port: 0, tls: { cert: tls.cert, key: tls.key } });
    url = `https://127.0.0.1:${app.server!.port}/.well-known/spiffe-bundle`;
  });
  afterAll(() => app.stop());
  afterEach(() => {
    mode = "bundle";
    hint = 1;
  });

  test("fetches over TLS trusted through endpointCA; peer SVIDs verify", async () => {
    const { bundles, fed } = federate([{ trustDomain: PEER, bundleEndpointUrl: url, endpointCA: tls.caPem }]);
    await fed.start();
    expect(fed.status()[0]!.lastError).toBeUndefined();
    expect(verifyX509Svid(peer.ca.issueX509Svid({ spiffeId: PEER_ID }).certChain, bundles).spiffeId).toBe(PEER_ID);
  });

  test("refreshes per spiffe_refresh_hint and announces the new bundle; keeps the last good one while the endpoint fails", async () => {
    const { bundles, fed } = federate([{ trustDomain: PEER, bundleEndpointUrl: url, endpointCA: tls.caPem }], { minRefreshSeconds: 0.2 });
    await fed.start();
    const before = bundles.get(PEER)!;
    peer.ca.rotateNow({ immediate: true });
    const changed = await nextChange(bundles, PEER);
    expect(changed.sequence).toBeGreaterThan(before.sequence);
    expect(changed.x509Authorities.length).toBe(peer.ca.bundle().x509Authorities.length);

    mode = "fail";
    await Bun.sleep(1500);
    expect(fed.status()[0]!.failures).toBeGreaterThanOrEqual(1);
    expect(fed.status()[0]!.lastError).toContain("HTTP 503");
    expect(bundles.get(PEER)).toBe(changed);
    expect(verifyX509Svid(peer.ca.issueX509Svid({ spiffeId: PEER_ID }).certChain, bundles).spiffeId).toBe(PEER_ID);

    mode = "bundle";
    await fed.refreshNow(PEER);
    expect(fed.status()[0]!.failures).toBe(0);
  });

  const failures: [string, () => void, RegExp, Partial<ConstructorParameters<typeof FederatedBundles>[0]>?][] = [
    ["a redirect is refused", () => (mode = "redirect"), /redirect \(302\) refused/],
    ["a body over the size cap is refused", () => (mode = "huge"), /exceeds the limit/],
    ["a stalled endpoint times out", () => (mode = "stall"), /GET .*(abort|time)/i, { fetchTimeoutMs: 300 }],
  ];
  for (const [name, arrange, message, more] of failures) {
    test(name, async () => {
      arrange();
      const { bundles, fed } = federate([{ trustDomain: PEER, bundleEndpointUrl: url, endpointCA: tls.caPem }], more);
      await fed.start();
      expect(bundles.get(PEER)).toBeUndefined();
      expect(fed.status()[0]!.lastError).toMatch(message);
    });
  }

  test("an endpoint whose certificate the configured roots do not trust is refused", async () => {
    const { bundles, fed } = federate([{ trustDomain: PEER, bundleEndpointUrl: url, endpointCA: localTls().caPem }]);
    await fed.start();
    expect(bundles.get(PEER)).toBeUndefined();
    expect(fed.status()[0]!.failures).toBe(1);
  });
});
