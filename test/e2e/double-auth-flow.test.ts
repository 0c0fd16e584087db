/**
 * DESIGN §2, all nine steps, on this host with real peers (issue 6):
 * - a real remote MCP server (MCP SDK, Streamable HTTP over HTTPS with a test CA) on 127.0.0.2,
 *   whose own AS is oidc-provider on 127.0.0.3 (DCR, PKCE, resource indicators, rotating refresh);
 * - `sluice serve` with kernel enforcement on a test cgroup, the redirect to its proxy, its AS;
 * - a real MCP client (the SDK, `auth()` with an OAuth provider that knows nothing of sluice) running
 *   as uid 65534 from its own binary in that cgroup: a managed workload;
 * - the browser steps (passkey enrollment and login, consent, the upstream login) in Chromium.
 * Then: the same sluice JWT replayed by another workload gets 403 and the upstream sees nothing;
 * an unlisted destination gets EPERM.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { decodeJwt } from "jose";
import { realPython } from "../kernel/support/agent-cgroup.ts";
import type { TestCa } from "../support/test-ca.ts";
import { startMcpTestServer, type McpTestServer } from "../support/mcp-server.ts";
import { startUpstreamAs, type UpstreamAs } from "../support/upstream-as.ts";
import { REPO } from "../support/serve-process.ts";
import { consentAndUpstreamLogin, enrolledUser, launchChromium } from "./support/browser.ts";
import { Cleanups } from "./support/cleanups.ts";
import { e2eSkipReason, readableTestCa, workDir } from "./support/host.ts";
import { jsonLines } from "./support/json-lines.ts";
import { startKernelServe, type KernelServe } from "./support/kernel-serve.ts";
import { freePort } from "./support/ports.ts";
import { copyBinary, createTestCgroup, type TestCgroup } from "./support/workloads.ts";

const skip = e2eSkipReason({ chromium: true });
if (skip) console.warn(`e2e double auth flow skipped: ${skip}`);

const TD = "sluice.test";
const AGENT_UID = 65534;
const THIEF_UID = 65533;

let ca: TestCa;
let upstream: UpstreamAs;
let mcp: McpTestServer;
let sluice: KernelServe;
let browser: Browser;
let work: string;
let cgroup: TestCgroup;
let agentBin: string;
let thiefBin: string;
const cleanups = new Cleanups();

function policy(asPort: number, mcpPort: number): string {
  const egressToSluice = [`    - cidr: 127.0.0.1/32`, `      ports: [${asPort}]`, `    - cidr: ::1/128`, `      ports: [${asPort}]`];
  return [
    "apiVersion: sluice/v1alpha1",
    "kind: WorkloadIdentity",
    "metadata: {name: agent}",
    "spec:",
    "  workloadID: agent",
    "  selectors:",
    `    - process:binary:path: ${agentBin}`,
    "  egress:",
    "    - services: {app: remote-mcp}",
    ...egressToSluice,
    "---",
    "apiVersion: sluice/v1alpha1",
    "kind: WorkloadIdentity",
    "metadata: {name: thief}",
    "spec:",
    "  workloadID: thief",
    "  selectors:",
    `    - process:binary:path: ${thiefBin}`,
    "  egress:",
    "    - services: {app: remote-mcp}",
    "---",
    "apiVersion: sluice/v1alpha1",
    "kind: Service",
    "metadata: {name: remote-mcp}",
    "spec:",
    `  addresses: [{address: 127.0.0.2, port: ${mcpPort}}]`,
    "  labels: {app: remote-mcp}",
    "  tls: intercept",
    "---",
    "apiVersion: sluice/v1alpha1",
    "kind: CredentialSource",
    "metadata: {name: remote-mcp}",
    "spec:",
    "  oauth2AuthorizationCode:",
    "    scopes: [mcp]",
    "---",
    "apiVersion: sluice/v1alpha1",
    "kind: CredentialBinding",
    "metadata: {name: agent-remote-mcp-alice}",
    "spec:",
    "  credentialSource: remote-mcp",
    "  workloadID: agent",
    `  humanID: spiffe://${TD}/user/alice`,
    "  propagation:",
    "    injection:",
    "      selectors: [{app: remote-mcp}]",
    "",
  ].join("\n");
}

/** Runs `argv` as `uid` in the test cgroup, from the work dir. */
const spawnInCgroup = (uid: number, argv: string[], env: Record<string, string>) => cgroup.spawn(uid, argv, env, work);

beforeAll(async () => {
  if (skip) return;
  work = workDir("sluice-e2e", cleanups);
  // Each workload runs its own copy of bun: the binary path is what the policy selects on.
  agentBin = copyBinary(work, "agent-bin");
  thiefBin = copyBinary(work, "thief-bin");
  ca = readableTestCa("e2e upstream CA", cleanups);

  const mcpPort = freePort("127.0.0.2");
  const resource = `https://127.0.0.2:${mcpPort}/mcp`;
  const asLeaf = ca.leaf(["127.0.0.3"]);
  upstream = await startUpstreamAs({ tls: { cert: asLeaf.certPem, key: asLeaf.keyPem }, resources: [resource], resourceScopes: ["mcp"], accessTokenFormat: "opaque", host: "127.0.0.3" });
  cleanups.push(() => upstream.stop());
  mcp = startMcpTestServer({
    hostname: "127.0.0.2",
    port: mcpPort,
    tls: ca.leaf(["127.0.0.2"]),
    authorizationServer: upstream.issuer,
    verifyToken: async (token) => Boolean(await upstream.provider.AccessToken.find(token)),
  });
  cleanups.push(() => mcp.stop());

  cgroup = createTestCgroup("sluice-e2e-double-auth");
  cleanups.push(() => cgroup.remove());
  sluice = await startKernelServe({ name: "sluice-e2e-double-auth", trustDomain: TD, cgroup: cgroup.path, policy: (ports) => policy(ports.as, mcpPort), upstreamCaFile: ca.certFile }, cleanups);
  browser = await launchChromium();
  cleanups.push(() => browser.close());
}, 120_000);

afterAll(() => cleanups.run());

describe.skipIf(Boolean(skip))("the double auth flow, end to end", () => {
  let agentHome: string;
  let sluiceJwt: string;
  let upstreamToken: string;

  test("agent: 401 → discovery rewritten to sluice → DCR attested → passkey login + consent → upstream login → tools/call with the upstream token injected", async () => {
    // The host CA the proxy mints intercept leaves from, as `sluice trust print` gives it.
    const hostCaPem = await sluice.hostCaPem();
    agentHome = join(work, "agent-home");
    mkdirSync(agentHome);
    writeFileSync(join(agentHome, "host-ca.pem"), hostCaPem);
    chownSync(agentHome, AGENT_UID, AGENT_UID);

    // Alice enrolls a passkey from the one-time link.
    const { context, page } = await enrolledUser(browser, sluice, "alice");

    const agent = spawnInCgroup(AGENT_UID, [agentBin, join(REPO, "test/e2e/fixtures/mcp-agent.ts")], {
      HOME: agentHome,
      MCP_URL: mcp.url,
      AGENT_STATE: join(agentHome, "mcp-state.json"),
      NODE_EXTRA_CA_CERTS: join(agentHome, "host-ca.pem"),
      AGENT_CALLS: JSON.stringify([
        { name: "echo", arguments: { text: "through sluice" } },
        { name: "count", arguments: { n: 5 } },
      ]),
    });
    const stderr = new Response(agent.stderr).text();
    const events = jsonLines(agent.stdout);
    const next = async () => {
      const r = await events.next();
      if (r.done) throw new Error(`agent ended early; stderr:\n${await stderr}\nsluice log tail:\n${sluice.serve.logs.slice(-15).map((l) => JSON.stringify(l)).join("\n")}`);
      return r.value;
    };

    const authorize = await next();
    expect(authorize).toMatchObject({ event: "authorize" });
    const authorizeUrl = new URL(String(authorize.url));
    expect(authorizeUrl.origin).toBe(new URL(sluice.serve.url.replace("127.0.0.1", "localhost")).origin); // the agent was sent to sluice, not to the upstream AS
    expect(authorizeUrl.searchParams.get("resource")).toBe(mcp.resource);

    await page.goto(authorizeUrl.toString());
    // Consent names the workload, the user and the resource.
    const consent = await page.textContent("body");
    expect(consent).toContain(`spiffe://${TD}/agent`);
    expect(consent).toContain(mcp.resource);
    await consentAndUpstreamLogin(page, upstream.issuer, "alice@upstream");
    expect(await page.textContent("body")).toContain("authorized");

    expect(await next()).toMatchObject({ event: "connected" });
    const echo = await next();
    expect(echo).toMatchObject({ event: "result", tool: "echo", result: { content: [{ type: "text", text: "echo: through sluice" }] } });
    const count = await next();
    expect(count).toMatchObject({ event: "result", tool: "count", result: { content: [{ type: "text", text: "counted to 5" }] }, notifications: 5 }); // SSE events flowed
    expect(await agent.exited).toBe(0);
    await context.close();

    // The agent holds a sluice JWT, nothing else: sub = its workload, act.sub = alice, aud = the MCP resource.
    const state = JSON.parse(readFileSync(join(agentHome, "mcp-state.json"), "utf8")) as { tokens: { access_token: string; refresh_token?: string } };
    sluiceJwt = state.tokens.access_token;
    const claims = decodeJwt(sluiceJwt);
    expect(claims).toMatchObject({ iss: new URL(authorizeUrl).origin, sub: `spiffe://${TD}/agent`, act: { sub: `spiffe://${TD}/user/alice` } });
    expect([claims.aud].flat()).toContain(mcp.resource);

    // The upstream saw its own token, never the sluice JWT.
    const seen = mcp.seenAuthorization.filter((h) => h.startsWith("Bearer "));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.some((h) => h.includes(sluiceJwt))).toBe(false);
    upstreamToken = seen.at(-1)!.slice("Bearer ".length);
    expect(await upstream.provider.AccessToken.find(upstreamToken)).toBeTruthy();

    // …and that token is nowhere in the agent's files or environment.
    for (const f of readdirSync(agentHome, { recursive: true }) as string[]) {
      const p = join(agentHome, f);
      if (statSync(p).isFile()) expect(readFileSync(p, "utf8")).not.toContain(upstreamToken);
    }
    expect(upstreamToken.length).toBeGreaterThan(20);
  }, 120_000);

  test("theft: the same sluice JWT from another workload (other uid, other binary) gets 403 and the upstream sees nothing", async () => {
    expect(sluiceJwt).toBeDefined();
    const before = mcp.seenAuthorization.length;
    const thiefHome = join(work, "thief-home");
    mkdirSync(thiefHome);
    writeFileSync(join(thiefHome, "host-ca.pem"), readFileSync(join(agentHome, "host-ca.pem")));
    chownSync(thiefHome, THIEF_UID, THIEF_UID);
    const script = `const r = await fetch(${JSON.stringify(mcp.url)}, { method: "POST", headers: { authorization: "Bearer " + process.env.STOLEN, "content-type": "application/json", accept: "application/json, text/event-stream" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }) }); console.log(r.status);`;
    const thief = spawnInCgroup(THIEF_UID, [thiefBin, "-e", script], { HOME: thiefHome, STOLEN: sluiceJwt, NODE_EXTRA_CA_CERTS: join(thiefHome, "host-ca.pem") });
    const [out, err] = await Promise.all([new Response(thief.stdout).text(), new Response(thief.stderr).text(), thief.exited]);
    expect(out.trim(), err).toBe("403");
    expect(mcp.seenAuthorization.length).toBe(before);
    // The audit record is committed by serve's next batch: read until it shows (bounded).
    const theft = (await sluice.waitForAudit((records) => records.some((r) => r.kind.includes("theft")))).find((r) => r.kind.includes("theft"));
    expect(theft?.decision).toBe("deny");
    expect(JSON.stringify(theft)).toContain(`spiffe://${TD}/thief`);
    expect(JSON.stringify(theft)).not.toContain(sluiceJwt);
  }, 60_000);

  test("an unlisted destination gets EPERM at connect() for the managed agent", async () => {
    const py = realPython();
    const agentPy = copyBinary(work, "agent-py", py);
    // The agent binary itself (bun) spawned as a child would inherit; python is simpler to script:
    // run it as a child of the agent binary so it inherits the agent's workload.
    const code = `import socket, errno\ns = socket.socket()\ntry:\n    s.connect(("127.0.0.9", 9)); print("ok")\nexcept OSError as e:\n    print(errno.errorcode.get(e.errno, e.errno))`;
    const child = await cgroup.run(AGENT_UID, [agentBin, "-e", `const p = Bun.spawnSync([${JSON.stringify(agentPy)}, "-c", ${JSON.stringify(code)}]); process.stdout.write(p.stdout.toString())`], { HOME: work }, work);
    expect(child.stdout.trim()).toBe("EPERM");
  }, 30_000);
});
