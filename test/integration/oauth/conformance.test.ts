/**
 * `@modelcontextprotocol/conformance authorization` (the MCP project's own AS checks, code no one
 * here wrote) against sluice's authorization server: RFC 8414 metadata, then the authorization
 * code grant with PKCE S256 and `resource`, whose authorization URL the tool prints and whose
 * callback it serves on 127.0.0.1. The user's part (a signed-in session, the consent form) is done
 * here over HTTP; the rest is the tool's. Offline: it only talks to the URLs given.
 *
 * The tool runs under bun (its build needs `fs.globSync`, which the machine's Node 20 lacks).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { globSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { AuditLog } from "../../../src/audit/index.ts";
import { resolveConfig } from "../../../src/config/index.ts";
import { silentLogger } from "../../../src/log/index.ts";
import { createClientRegistry, startOAuth } from "../../../src/oauth/index.ts";
import { loadPolicyDir } from "../../../src/policy/index.ts";
import { createHttpApp } from "../../../src/server/http.ts";
import { openTrustDomainCA } from "../../../src/spiffe/index.ts";
import { openStore } from "../../../src/store/index.ts";
import { startUsers, userDirectory } from "../../../src/users/index.ts";
import { Sessions } from "../../../src/users/sessions.ts";
import { Browser, hiddenField } from "../../support/users/harness.ts";

const CONFORMANCE = resolve(import.meta.dir, "../../../node_modules/@modelcontextprotocol/conformance/dist/index.js");
const RESOURCE = "https://mcp.example.test/mcp";
const cleanups: (() => unknown)[] = [];
let root = "";
let issuer = "";
let sessions: Sessions;

setDefaultTimeout(30_000);

function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

interface Check {
  id: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "SKIPPED" | "INFO";
  errorMessage?: string;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "sluice-conformance-"));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const store = await openStore({ dataDir: join(root, "data") });
  cleanups.push(() => store.close());
  const audit = await AuditLog.open(store, { mirrorPath: null });
  cleanups.push(() => audit.close());
  const ca = openTrustDomainCA({ store, trustDomain: "example.org", logger: silentLogger });
  cleanups.push(() => ca.close());
  mkdirSync(join(root, "policies"));
  writeFileSync(join(root, "policies", "mcp.yaml"), "apiVersion: sluice/v1alpha1\nkind: Service\nmetadata: {name: mcp}\nspec:\n  addresses: [{address: mcp.example.test, port: 443}]\n");
  const snapshot = (await loadPolicyDir(join(root, "policies"), { trustDomain: "example.org" })).snapshot!;
  const port = freePort();
  issuer = `http://localhost:${port}`;
  const config = resolveConfig([{ origin: "flag", raw: { trustDomain: "example.org", issuer, dataDir: join(root, "data") } }]).config;

  // The order `sluice serve` uses: directory → clients → token side → users.
  const directory = userDirectory(config, store);
  const clients = await createClientRegistry({ config, store, audit, ca, logger: silentLogger });
  cleanups.push(() => clients.stop());
  const as = await startOAuth({ config, store, audit, policy: { current: () => snapshot }, ca, clients: clients.registry, users: directory, logger: silentLogger });
  cleanups.push(() => as.stop());
  const users = await startUsers({ config, store, audit, clients: clients.registry, codes: as.codes, resources: as.resources, logger: silentLogger });
  cleanups.push(() => users.stop());
  const app = createHttpApp({ logger: silentLogger, modules: [...clients.routes, ...as.routes, ...users.routes] });
  app.listen({ hostname: "127.0.0.1", port });
  cleanups.push(() => app.stop(true));
  users.admin.add("alice", false);
  sessions = new Sessions(store, { idleSeconds: 600, absoluteSeconds: 3600 });
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe("@modelcontextprotocol/conformance authorization", () => {
  test("every authorization-server scenario passes: metadata endpoint, authorization code grant", async () => {
    const callbackPort = freePort();
    // A public client registered by RFC 7591 for the tool's callback.
    const registered = await fetch(`${issuer}/oauth2/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ redirect_uris: [`http://127.0.0.1:${callbackPort}/callback`], token_endpoint_auth_method: "none", grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], client_name: "conformance" }),
    });
    expect(registered.status).toBe(201);
    const { client_id } = (await registered.json()) as { client_id: string };

    const outDir = join(root, "results");
    const tool = Bun.spawn([process.execPath, CONFORMANCE, "authorization", "--url", issuer, "--client-id", client_id, "--resource", RESOURCE, "--port", String(callbackPort), "-o", outDir], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: root, NO_COLOR: "1" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const stderr = new Response(tool.stderr).text();
    // The user's part: the tool prints the authorization URL; a signed-in user allows it.
    let stdout = "";
    const decoder = new TextDecoder();
    let authorizationUrl: string | undefined;
    const reader = tool.stdout.getReader();
    while (!(authorizationUrl && /Waiting up to/.test(stdout))) {
      const { done, value } = await reader.read();
      if (done) break;
      stdout += decoder.decode(value, { stream: true });
      authorizationUrl ??= stdout.match(/^(http:\/\/localhost:\d+\/oauth2\/authorize\?\S+)$/m)?.[1];
    }
    expect(authorizationUrl).toBeDefined();
    const browser = new Browser(issuer);
    browser.jar.set("sluice-session", (await sessions.create("alice", "p")).id);
    const url = new URL(authorizationUrl!);
    const consent = await browser.get(url.pathname + url.search);
    expect(consent.status).toBe(200);
    const html = await consent.text();
    const answer = await browser.post("/oauth2/authorize/consent", { pending: hiddenField(html, "pending")!, csrf: hiddenField(html, "csrf")!, decision: "allow" });
    expect(answer.status).toBe(303);
    const callback = answer.headers.get("location")!;
    expect(callback.startsWith(`http://127.0.0.1:${callbackPort}/callback?`)).toBe(true);
    expect((await fetch(callback)).status).toBe(200);

    for (let r = await reader.read(); !r.done; r = await reader.read()) stdout += decoder.decode(r.value, { stream: true });
    const code = await tool.exited;
    const checks = globSync(join(outDir, "**/checks.json")).flatMap((file) => JSON.parse(readFileSync(file, "utf8")) as Check[]);
    const byId = Object.fromEntries(checks.map((c) => [c.id, c]));
    const failures = checks.filter((c) => c.status === "FAILURE" || c.status === "WARNING");
    expect({ failures, stderr: await stderr }).toEqual({ failures: [], stderr: "" });
    expect(byId["authorization-server-metadata"]?.status).toBe("SUCCESS");
    expect(byId["authorization-server-metadata-cimd"]?.status).toBe("SUCCESS");
    expect(byId["authorization-code-grant"]?.status).toBe("SUCCESS");
    expect(code).toBe(0);
    expect(stdout).toContain("Total: 3 passed, 0 failed");
    expect(checks.map((c) => c.id).sort()).toEqual(["authorization-code-grant", "authorization-server-metadata", "authorization-server-metadata-cimd"]);
  });
});
