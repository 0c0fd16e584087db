/**
 * Issue 6, refresh through the proxy: with a short upstream access token lifetime (8 s) and
 * `broker.refreshAhead: 5s`, a managed agent that went through the double auth flow fires 50
 * concurrent MCP requests after its upstream token expired: the upstream AS sees exactly one
 * refresh_token grant, and all 50 requests succeed with the one new token. Then the audit log
 * and /metrics account for every injected and rewritten request, with no secret in either.
 *
 * Timing (no timing is asserted; the waits are for the upstream's real expiry): a token is due
 * for refresh 5 s before it expires, and the broker's background sweep (every 15 s) refreshes due
 * tokens too. If a sweep refreshed while the test waited, the test waits for that new token's
 * expiry instead (8 s lifetime < 15 s sweep period: no second sweep can come first).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { startMcpTestServer, type McpTestServer } from "../support/mcp-server.ts";
import { startUpstreamAs, type UpstreamAs } from "../support/upstream-as.ts";
import { REPO } from "../support/serve-process.ts";
import { consentAndUpstreamLogin, enrolledUser, launchChromium } from "./support/browser.ts";
import { Cleanups } from "./support/cleanups.ts";
import { e2eSkipReason, readableTestCa, workDir } from "./support/host.ts";
import { jsonLines } from "./support/json-lines.ts";
import { startKernelServe, type KernelServe } from "./support/kernel-serve.ts";
import { credentialBinding, credentialSource, egress, policyFile, service, workloadIdentity } from "./support/policy.ts";
import { freePort } from "./support/ports.ts";
import { copyBinary, createTestCgroup, type TestCgroup } from "./support/workloads.ts";

const skip = e2eSkipReason({ chromium: true });
if (skip) console.warn(`e2e refresh through the proxy skipped: ${skip}`);

const TD = "sluice.test";
const AGENT_UID = 65534;
const UPSTREAM_TTL_SECONDS = 8;
const BURST = 50;

let upstream: UpstreamAs;
let mcp: McpTestServer;
let sluice: KernelServe;
let browser: Browser;
let work: string;
let cgroup: TestCgroup;
let agentBin: string;
let agentHome: string;
/** Every token the upstream AS handed out (access and refresh), to look for in audit and logs. */
const upstreamSecrets: string[] = [];
/** The newest upstream access token and its expiry (ms). */
let newest = { token: "", expiry: 0 };
const cleanups = new Cleanups();

beforeAll(async () => {
  if (skip) return;
  work = workDir("sluice-e2e-refresh", cleanups);
  agentBin = copyBinary(work, "agent-bin");
  const ca = readableTestCa("e2e refresh upstream CA", cleanups);
  const mcpPort = freePort("127.0.0.2");
  const asLeaf = ca.leaf(["127.0.0.3"]);
  upstream = await startUpstreamAs({
    tls: { cert: asLeaf.certPem, key: asLeaf.keyPem },
    resources: [`https://127.0.0.2:${mcpPort}/mcp`],
    resourceScopes: ["mcp"],
    accessTokenFormat: "opaque",
    accessTokenTtl: UPSTREAM_TTL_SECONDS,
    host: "127.0.0.3",
  });
  cleanups.push(() => upstream.stop());
  upstream.provider.on("grant.success", (ctx) => {
    const body = ctx.body as { access_token?: string; refresh_token?: string; expires_in?: number };
    for (const t of [body.access_token, body.refresh_token]) if (t) upstreamSecrets.push(t);
    if (body.access_token && body.expires_in) newest = { token: body.access_token, expiry: Date.now() + body.expires_in * 1000 };
  });
  mcp = startMcpTestServer({
    hostname: "127.0.0.2",
    port: mcpPort,
    tls: ca.leaf(["127.0.0.2"]),
    authorizationServer: upstream.issuer,
    // An expired token is refused, as a real resource server would.
    verifyToken: async (token) => {
      const found = await upstream.provider.AccessToken.find(token);
      return Boolean(found && !found.isExpired);
    },
  });
  cleanups.push(() => mcp.stop());

  cgroup = createTestCgroup("sluice-e2e-refresh");
  cleanups.push(() => cgroup.remove());
  sluice = await startKernelServe(
    {
      name: "sluice-e2e-refresh",
      trustDomain: TD,
      cgroup: cgroup.path,
      upstreamCaFile: ca.certFile,
      extraConfig: "broker:\n  refreshAhead: 5s",
      policy: ({ as }) =>
        policyFile(
          workloadIdentity("agent", [agentBin], egress({ apps: ["remote-mcp"], sluiceAsPort: as })),
          service("remote-mcp", { address: "127.0.0.2", port: mcpPort, tls: "intercept" }),
          credentialSource("remote-mcp", ["oauth2AuthorizationCode:", "  scopes: [mcp]"]),
          credentialBinding("agent-remote-mcp-alice", { source: "remote-mcp", workloadID: "agent", humanID: `spiffe://${TD}/user/alice`, app: "remote-mcp" }),
        ),
    },
    cleanups,
  );
  browser = await launchChromium();
  cleanups.push(() => browser.close());
}, 60_000);

afterAll(() => cleanups.run());

/** Runs a bun script from the repo as the agent workload (same binary copy, same uid, in the cgroup). */
function runAsAgent(fixture: string, env: Record<string, string>) {
  return cgroup.spawn(AGENT_UID, [agentBin, join(REPO, fixture)], { HOME: agentHome, AGENT_STATE: join(agentHome, "mcp-state.json"), MCP_URL: mcp.url, NODE_EXTRA_CA_CERTS: join(agentHome, "host-ca.pem"), ...env }, work);
}

describe.skipIf(Boolean(skip))("upstream refresh through the proxy", () => {
  test("the agent completes the double auth flow (upstream token lifetime 8 s)", async () => {
    agentHome = join(work, "agent-home");
    mkdirSync(agentHome);
    writeFileSync(join(agentHome, "host-ca.pem"), await sluice.hostCaPem());
    chownSync(agentHome, AGENT_UID, AGENT_UID);
    const { context, page } = await enrolledUser(browser, sluice, "alice");

    const agent = runAsAgent("test/e2e/fixtures/mcp-agent.ts", { AGENT_CALLS: JSON.stringify([{ name: "echo", arguments: { text: "before expiry" } }]) });
    const stderr = new Response(agent.stderr).text();
    const events = jsonLines(agent.stdout);
    const next = async () => {
      const r = await events.next();
      if (r.done) throw new Error(`agent ended early; stderr:\n${await stderr}`);
      return r.value;
    };
    const authorize = await next();
    expect(authorize).toMatchObject({ event: "authorize" });
    await page.goto(String(authorize.url));
    await consentAndUpstreamLogin(page, upstream.issuer, "alice@upstream");
    expect(await next()).toMatchObject({ event: "connected" });
    expect(await next()).toMatchObject({ event: "result", result: { content: [{ text: "echo: before expiry" }] } });
    expect(await agent.exited).toBe(0);
    await context.close();
    expect(upstream.grantCount("authorization_code")).toBe(1);
  }, 40_000);

  test(`${BURST} concurrent requests after the upstream token expired: exactly one upstream refresh, none fails`, async () => {
    expect(newest.expiry).toBeGreaterThan(0);
    let refreshesBefore = upstream.grantCount("refresh_token");
    // Wait (once more at most) for the newest upstream token to expire with no refresh in between.
    for (let attempt = 0; attempt < 2; attempt++) {
      refreshesBefore = upstream.grantCount("refresh_token");
      await Bun.sleep(Math.max(0, newest.expiry - Date.now()) + 300);
      if (upstream.grantCount("refresh_token") === refreshesBefore) break;
    }
    expect(upstream.grantCount("refresh_token")).toBe(refreshesBefore); // nothing refreshed during the last wait: the burst must
    const expiredToken = newest.token;
    expect(await upstream.provider.AccessToken.find(expiredToken).then((t: { isExpired: boolean } | undefined) => Boolean(t && !t.isExpired))).toBe(false); // across expiry: the old token is dead upstream
    const seenBefore = mcp.seenAuthorization.length;

    const burst = runAsAgent("test/e2e/fixtures/mcp-burst.ts", { BURST: String(BURST) });
    const [out, err, code] = await Promise.all([new Response(burst.stdout).text(), new Response(burst.stderr).text(), burst.exited]);
    expect(code, err).toBe(0);
    const { results } = JSON.parse(out) as { results: { status: number; text?: string; error?: string }[] };
    expect(results).toHaveLength(BURST);
    expect(results.filter((r) => r.status !== 200 || r.text === undefined)).toEqual([]);
    expect(results.map((r) => r.text)).toEqual(Array.from({ length: BURST }, (_, i) => `echo: burst ${i}`));

    expect(upstream.grantCount("refresh_token")).toBe(refreshesBefore + 1);
    // All 50 reached the upstream with the one refreshed token.
    const seen = new Set(mcp.seenAuthorization.slice(seenBefore));
    expect(mcp.seenAuthorization.length - seenBefore).toBe(BURST);
    expect(seen.size).toBe(1);
    expect([...seen][0]).not.toBe(`Bearer ${expiredToken}`);
    expect(upstreamSecrets).toContain([...seen][0]!.slice("Bearer ".length));
  }, 45_000);

  test("audit: one record per injected and per rewritten request (workload, user, service, decision), no secret; /metrics counts them", async () => {
    const metricsText = async () => (await fetch(sluice.metricsUrl)).text();
    const injectedMetric = (text: string) => Number(/^sluice_proxy_requests_total\{service="remote-mcp",decision="injected"\} (\d+)$/m.exec(text)?.[1] ?? "-1");
    const metrics = await metricsText();
    const injected = injectedMetric(metrics);
    expect(injected).toBeGreaterThanOrEqual(BURST + 1);
    const records = await sluice.waitForAudit((rs) => rs.filter((r) => r.kind === "broker.inject").length >= injected);
    const injects = records.filter((r) => r.kind === "broker.inject");
    expect(injects).toHaveLength(injected);
    for (const r of injects) {
      expect(r).toMatchObject({ decision: "allow", subject: `spiffe://${TD}/agent`, uid: AGENT_UID, details: { user: `spiffe://${TD}/user/alice`, service: "remote-mcp", sourceType: "oauth2AuthorizationCode" } });
    }
    const rewritten = records.filter((r) => r.kind === "proxy.discovery.rewritten");
    expect(rewritten.length).toBeGreaterThan(0);
    for (const r of rewritten) expect(r).toMatchObject({ subject: `spiffe://${TD}/agent`, details: { service: "remote-mcp", upstreamIssuers: [upstream.issuer] } });

    // Never a secret: no upstream token, no sluice token, in the audit log, its mirror or serve's log.
    const sluiceToken = (JSON.parse(readFileSync(join(agentHome, "mcp-state.json"), "utf8")) as { tokens: { access_token: string; refresh_token?: string } }).tokens;
    const secrets = [...upstreamSecrets, sluiceToken.access_token, ...(sluiceToken.refresh_token ? [sluiceToken.refresh_token] : [])];
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    const auditText = JSON.stringify(records) + readFileSync(join(sluice.dataDir, "audit.jsonl"), "utf8");
    const logText = JSON.stringify(sluice.serve.logs);
    for (const s of secrets) {
      expect(auditText.includes(s)).toBe(false);
      expect(logText.includes(s)).toBe(false);
    }

    // The latency histogram for the Service, consistent with the counter.
    expect(metrics).toContain("# TYPE sluice_proxy_request_duration_seconds histogram");
    expect(Number(/^sluice_proxy_request_duration_seconds_count\{service="remote-mcp",decision="injected"\} (\d+)$/m.exec(metrics)?.[1])).toBe(injected);
    expect(Number(/^sluice_proxy_request_duration_seconds_bucket\{service="remote-mcp",decision="injected",le="\+Inf"\} (\d+)$/m.exec(metrics)?.[1])).toBe(injected);
    expect(metrics).toMatch(/^sluice_proxy_responses_total\{service="remote-mcp",code="2xx"\} \d+$/m);
  }, 30_000);
});
