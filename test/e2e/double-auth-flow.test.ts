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
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { decodeJwt } from "jose";
import { cgroupV2Root } from "../../src/kernel/index.ts";
import { kernelSkipReason, removeCgroup, realPython } from "../kernel/support/agent-cgroup.ts";
import { createTestCa, type TestCa } from "../support/test-ca.ts";
import { startMcpTestServer, type McpTestServer } from "../support/mcp-server.ts";
import { startUpstreamAs, type UpstreamAs } from "../support/upstream-as.ts";
import { makeTempDirs, startServe, REPO, type ServeProcess } from "../support/serve-process.ts";
import { runSluice } from "../support/run-sluice.ts";

const skip = kernelSkipReason() || (Bun.which("chromium") ? "" : "chromium is not installed (scripts/setup installs it)") || (Bun.which("setpriv") ? "" : "setpriv (util-linux) is not installed");
if (skip) console.warn(`e2e double auth flow skipped: ${skip}`);

const TD = "sluice.test";
const AGENT_UID = 65534;
const THIEF_UID = 65533;
const CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** A port free on `host` right now. */
function freePort(host: string): number {
  const probe = Bun.listen({ hostname: host, port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

/** A port free on both 127.0.0.1 and ::1 (the proxy listens on both). */
function freeDualPort(): number {
  for (let i = 0; i < 20; i++) {
    const port = freePort("127.0.0.1");
    try {
      Bun.listen({ hostname: "::1", port, socket: { data() {} } }).stop(true);
      return port;
    } catch {}
  }
  throw new Error("no port free on both loopbacks");
}

let ca: TestCa;
let upstream: UpstreamAs;
let mcp: McpTestServer;
let serve: ServeProcess;
let browser: Browser;
let work: string;
let cgroup: string;
let agentBin: string;
let thiefBin: string;
const cleanups: (() => unknown)[] = [];

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

/** Runs `exe args…` as `uid` inside the test cgroup (moved there before exec, so it never runs outside). */
function spawnInCgroup(uid: number, argv: string[], env: Record<string, string>) {
  const script = 'echo $$ > "$0/cgroup.procs" && uid="$1" && shift && exec setpriv --reuid "$uid" --regid "$uid" --clear-groups -- "$@"';
  return Bun.spawn(["/bin/sh", "-c", script, cgroup, String(uid), ...argv], {
    env: { PATH: "/usr/bin:/bin", ...env },
    stdout: "pipe",
    stderr: "pipe",
    cwd: work,
  });
}

beforeAll(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), "sluice-e2e-"));
  chmodSync(work, 0o755);
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  // Each workload runs its own copy of bun: the binary path is what the policy selects on.
  agentBin = join(work, "agent-bin");
  thiefBin = join(work, "thief-bin");
  for (const b of [agentBin, thiefBin]) {
    copyFileSync(process.execPath, b);
    chmodSync(b, 0o755);
  }
  ca = createTestCa("e2e upstream CA");
  cleanups.push(() => ca.cleanup());
  chmodSync(ca.dir, 0o755);
  chmodSync(ca.certFile, 0o644);

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

  cgroup = join(cgroupV2Root(), `sluice-e2e-${process.pid}`);
  mkdirSync(cgroup);
  cleanups.push(() => removeCgroup(cgroup));

  const dirs = makeTempDirs("sluice-e2e-serve-");
  cleanups.push(() => rmSync(dirs.dir, { recursive: true, force: true }));
  const asPort = freePort("127.0.0.1");
  writeFileSync(join(dirs.policyDir, "e2e.yaml"), policy(asPort, mcpPort));
  const pinDir = `/sys/fs/bpf/sluice-e2e-${process.pid}`;
  const configFile = join(dirs.dir, "sluice.yaml");
  writeFileSync(configFile, `trustDomain: ${TD}\nkernel:\n  enabled: true\n  cgroup: ${cgroup}\n  pinDir: ${pinDir}\n  interfaces: []\nproxy:\n  upstreamCaFile: ${ca.certFile}\n`);
  serve = await startServe({ dirs, env: { SLUICE_CONFIG: configFile, SLUICE_LISTEN: `127.0.0.1:${asPort}`, SLUICE_KERNEL_ENABLED: "true", SLUICE_PROXY_LISTEN: `127.0.0.1:${freeDualPort()}` } });
  cleanups.push(async () => {
    serve.cleanup();
    await runSluice(["kernel", "detach", "--yes"], { env: { SLUICE_CONFIG: configFile, SLUICE_DATA_DIR: dirs.dataDir } });
  });
  await serve.waitForLog((l) => l.msg === "kernel policy applied", 20_000);

  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  cleanups.push(() => browser.close());
}, 120_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch (err) {
      console.warn("e2e cleanup:", err);
    }
  }
});

/** Lines of JSON the agent prints, as they come. */
function lines(stream: ReadableStream<Uint8Array>): AsyncIterator<Record<string, unknown>> {
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  let buffer = "";
  return {
    async next() {
      for (;;) {
        const nl = buffer.indexOf("\n");
        if (nl >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          try {
            return { value: JSON.parse(line) as Record<string, unknown>, done: false };
          } catch {
            continue;
          }
        }
        const { value, done } = await reader.read();
        if (done) return { value: undefined, done: true };
        buffer += decoder.decode(value, { stream: true });
      }
    },
  };
}

describe.skipIf(Boolean(skip))("the double auth flow, end to end", () => {
  let agentHome: string;
  let sluiceJwt: string;
  let upstreamToken: string;

  test("agent: 401 → discovery rewritten to sluice → DCR attested → passkey login + consent → upstream login → tools/call with the upstream token injected", async () => {
    // The host CA the proxy mints intercept leaves from, as `sluice trust print` gives it.
    const hostCa = await runSluice(["trust", "print"], { env: { SLUICE_DATA_DIR: serve.dataDir, SLUICE_CONFIG: "none" } });
    expect(hostCa.code).toBe(0);
    const hostCaPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(hostCa.stdout)![0];
    agentHome = join(work, "agent-home");
    mkdirSync(agentHome);
    writeFileSync(join(agentHome, "host-ca.pem"), hostCaPem);
    chownSync(agentHome, AGENT_UID, AGENT_UID);

    // Alice enrolls a passkey from the one-time link.
    const added = await runSluice(["user", "add", "alice", "--json"], { env: { SLUICE_DATA_DIR: serve.dataDir, SLUICE_CONFIG: "none" } });
    expect(added.code).toBe(0);
    const enrollUrl = (JSON.parse(added.stdout) as { url: string }).url;
    const context = await browser.newContext({ ignoreHTTPSErrors: true }); // the upstream AS runs on the test CA
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable", { enableUI: false });
    await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    await page.goto(enrollUrl);
    await page.getByRole("button", { name: "Create passkey" }).click();
    await page.waitForURL(/\/account/);

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
    const events = lines(agent.stdout);
    const next = async () => {
      const r = await events.next();
      if (r.done) throw new Error(`agent ended early; stderr:\n${await stderr}\nsluice log tail:\n${serve.logs.slice(-15).map((l) => JSON.stringify(l)).join("\n")}`);
      return r.value;
    };

    const authorize = await next();
    expect(authorize).toMatchObject({ event: "authorize" });
    const authorizeUrl = new URL(String(authorize.url));
    expect(authorizeUrl.origin).toBe(new URL(serve.url.replace("127.0.0.1", "localhost")).origin); // the agent was sent to sluice, not to the upstream AS
    expect(authorizeUrl.searchParams.get("resource")).toBe(mcp.resource);

    await page.goto(authorizeUrl.toString());
    // Consent names the workload, the user and the resource.
    const consent = await page.textContent("body");
    expect(consent).toContain(`spiffe://${TD}/agent`);
    expect(consent).toContain(mcp.resource);
    await page.getByRole("button", { name: "Allow" }).click();
    // The broker's step sent the browser to the upstream AS (oidc-provider's dev login + consent).
    await page.waitForURL((u) => u.host === new URL(upstream.issuer).host);
    await page.fill('input[name="login"]', "alice@upstream");
    await page.fill('input[name="password"]', "any");
    await page.click('button[type="submit"]');
    await page.waitForURL((u) => u.host === new URL(upstream.issuer).host && !u.pathname.includes("login"), { timeout: 10_000 }).catch(() => {});
    if ((await page.textContent("body"))?.includes("Authorize")) await page.click('button[type="submit"]');
    await page.waitForURL((u) => u.hostname === "127.0.0.1" && u.pathname === "/callback", { timeout: 15_000 });
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
    let theft: { kind: string; decision?: string } | undefined;
    for (let i = 0; i < 50 && !theft; i++) {
      const audit = await runSluice(["audit", "tail", "-n", "200", "--json"], { env: { SLUICE_DATA_DIR: serve.dataDir, SLUICE_CONFIG: "none" } });
      theft = audit.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { kind: string; decision?: string })
        .find((r) => r.kind.includes("theft"));
      if (!theft) await Bun.sleep(100);
    }
    expect(theft?.decision).toBe("deny");
    expect(JSON.stringify(theft)).toContain(`spiffe://${TD}/thief`);
    expect(JSON.stringify(theft)).not.toContain(sluiceJwt);
  }, 60_000);

  test("an unlisted destination gets EPERM at connect() for the managed agent", async () => {
    const py = realPython();
    const agentPy = join(work, "agent-py");
    copyFileSync(py, agentPy);
    chmodSync(agentPy, 0o755);
    // The agent binary itself (bun) spawned as a child would inherit; python is simpler to script:
    // run it as a child of the agent binary so it inherits the agent's workload.
    const code = `import socket, errno\ns = socket.socket()\ntry:\n    s.connect(("127.0.0.9", 9)); print("ok")\nexcept OSError as e:\n    print(errno.errorcode.get(e.errno, e.errno))`;
    const child = spawnInCgroup(AGENT_UID, [agentBin, "-e", `const p = Bun.spawnSync([${JSON.stringify(agentPy)}, "-c", ${JSON.stringify(code)}]); process.stdout.write(p.stdout.toString())`], { HOME: work });
    const out = (await new Response(child.stdout).text()).trim();
    await child.exited;
    expect(out).toBe("EPERM");
  }, 30_000);
});
