/**
 * The broker over real parts: LMDB store + audit log in a temp dir, a real TrustDomainCA, a real
 * PolicyEngine on a policy dir, a real oidc-provider upstream AS over HTTPS, a real HTTPS resource
 * server (Bun.serve, test CA) that records the credentials it saw, and sluice's HTTP app serving the
 * broker's routes on loopback. Sluice tokens come from a jose-based test issuer; the resumer is the
 * small one next to this file.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditLog, type AuditRecord } from "../../../src/audit/index.ts";
import { startBroker, type Broker } from "../../../src/broker/index.ts";
import { resolveConfig, type SluiceConfig } from "../../../src/config/index.ts";
import { silentLogger } from "../../../src/log/index.ts";
import type { OAuthClient, PendingAuthorization, UserRecord } from "../../../src/oauth/types.ts";
import { PolicyEngine } from "../../../src/policy/index.ts";
import type { ConnectionContext, InjectionDecision, RequestHead } from "../../../src/proxy/types.ts";
import { createHttpApp } from "../../../src/server/http.ts";
import { openTrustDomainCA, type TrustDomainCA } from "../../../src/spiffe/index.ts";
import { openStore, type Store } from "../../../src/store/index.ts";
import { completeUpstreamLogin, startUpstreamAs, type UpstreamAs } from "../upstream-as.ts";
import { TestResumer } from "./resumer.ts";
import { makeTestTls, type TestTls } from "./test-ca.ts";
import { createTestTokenIssuer, type TestTokenIssuer } from "./token-issuer.ts";

export const TD = "example.org";
export const AGENT = `spiffe://${TD}/agent`;
export const THIEF = `spiffe://${TD}/thief`;
export const STATIC_TOOL = `spiffe://${TD}/static-tool`;
export const CC_TOOL = `spiffe://${TD}/cc-tool`;
export const JWT_TOOL = `spiffe://${TD}/jwt-tool`;
export const ALICE: UserRecord = { name: "alice", spiffeId: `spiffe://${TD}/user/alice`, admin: false };
export const BOB: UserRecord = { name: "bob", spiffeId: `spiffe://${TD}/user/bob`, admin: false };
/** Bound through a source with explicit endpoints and a pre-registered client (no discovery, no DCR). */
export const CAROL: UserRecord = { name: "carol", spiffeId: `spiffe://${TD}/user/carol`, admin: false };
export const CONFIGURED_CLIENT_ID = "sluice-configured";
export const CONFIGURED_CLIENT_SECRET = "configured-secret-5e8d1a";
export const JWT_AUDIENCE = "https://api.example.test";
export const AGENT_REDIRECT = "http://127.0.0.1:9/callback";
export const CC_SECRET = "cc-secret-0123456789abcdef";
export const STATIC_SECRET = "static-api-key-7f3a9c1e5b";

export interface SeenRequest {
  readonly path: string;
  readonly authorization: string | null;
  readonly apiKey: string | null;
}

export interface BrokerFixture {
  readonly root: string;
  readonly tls: TestTls;
  readonly config: SluiceConfig;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly ca: TrustDomainCA;
  readonly engine: PolicyEngine;
  readonly upstream: UpstreamAs;
  readonly tokens: TestTokenIssuer;
  readonly resumer: TestResumer;
  readonly broker: Broker;
  /** sluice's issuer (its HTTP app with the broker's routes). */
  readonly issuer: string;
  /** The MCP resource URL (RFC 8707), served by the resource server. */
  readonly resource: string;
  readonly rsPort: number;
  /** Every request the resource server saw. */
  readonly seen: SeenRequest[];
  readonly staticSecretFile: string;
  /** Moves the broker's clock (not the upstream's) forward. */
  advance(ms: number): void;
  /** Rewrites the policy file and reloads it. */
  setPolicy(text: string): Promise<void>;
  policyText(options?: { withAgentBinding?: boolean }): string;
  agentClient(workload?: string): OAuthClient;
  connection(workload: string | undefined, pid?: number): ConnectionContext;
  head(authorization?: string, extra?: [string, string][]): RequestHead;
  /** Sends the request to the resource server as the proxy would after `decision`. */
  forward(head: RequestHead, decision: InjectionDecision): Promise<Response>;
  /** A pending authorization as the users part would hand it to the step. */
  pending(user?: UserRecord, workload?: string): PendingAuthorization;
  /**
   * Runs the upstream leg for `pending` (step → upstream login/consent → callback) and returns
   * sluice's answer to the browser. The browser holds a sluice session of `session` (default: the
   * pending authorization's user; null: no session).
   */
  authorizeUpstream(pending: PendingAuthorization, options?: { deny?: boolean; session?: UserRecord | null }): Promise<Response>;
  /** The Cookie header of a fresh sluice login session for `user` (the test resumer's sessions). */
  sessionCookie(user: UserRecord): string;
  auditRecords(): Promise<AuditRecord[]>;
  close(): Promise<void>;
}

export interface BrokerFixtureOptions {
  readonly accessTokenTtl?: number;
  readonly refreshAheadSeconds?: number;
  /** Background refresh sweep period; default 0 (off: refreshes happen on demand only). */
  readonly refreshSweepMs?: number;
}

async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

export async function startBrokerFixture(options: BrokerFixtureOptions = {}): Promise<BrokerFixture> {
  const root = mkdtempSync(join(tmpdir(), "sluice-broker-"));
  const cleanups: (() => Promise<unknown> | unknown)[] = [() => rmSync(root, { recursive: true, force: true })];
  const close = async () => {
    for (const c of cleanups.reverse()) await c();
  };
  try {
    const tls = makeTestTls();
    cleanups.push(() => tls.cleanup());

    const seen: SeenRequest[] = [];
    let upstreamIssuer = "";
    let rsPort = 0;
    const rs: ReturnType<typeof Bun.serve> = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: tls.cert, key: tls.key },
      fetch(req): Response {
        const url = new URL(req.url);
        if (url.pathname.startsWith("/.well-known/oauth-protected-resource")) {
          return Response.json({ resource: `https://127.0.0.1:${rsPort}/mcp`, authorization_servers: [upstreamIssuer], bearer_methods_supported: ["header"] });
        }
        seen.push({ path: url.pathname, authorization: req.headers.get("authorization"), apiKey: req.headers.get("x-api-key") });
        return Response.json({ ok: true });
      },
    });
    rsPort = rs.port!;
    cleanups.push(() => rs.stop(true));
    const resource = `https://127.0.0.1:${rsPort}/mcp`;

    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const upstream = await startUpstreamAs({
      tls,
      resources: [resource],
      accessTokenTtl: options.accessTokenTtl ?? 300,
      clients: [
        { client_id: "cc-client", client_secret: CC_SECRET, grant_types: ["client_credentials"] },
        {
          client_id: CONFIGURED_CLIENT_ID,
          client_secret: CONFIGURED_CLIENT_SECRET,
          grant_types: ["authorization_code", "refresh_token"],
          response_types: ["code"],
          redirect_uris: [`${issuer}/oauth2/upstream/callback`],
        },
      ],
    });
    upstreamIssuer = upstream.issuer;
    cleanups.push(() => upstream.stop());

    const store = await openStore({ dataDir: join(root, "data") });
    cleanups.push(() => store.close());
    const audit = await AuditLog.open(store, { mirrorPath: null });
    cleanups.push(() => audit.close());
    const ca = openTrustDomainCA({ store, trustDomain: TD, logger: silentLogger });
    cleanups.push(() => ca.close());

    const secrets = join(root, "secrets");
    mkdirSync(secrets);
    const staticSecretFile = join(secrets, "api-key");
    writeFileSync(staticSecretFile, STATIC_SECRET + "\n", { mode: 0o600 });
    chmodSync(staticSecretFile, 0o600);
    const configuredSecretFile = join(secrets, "configured-secret");
    writeFileSync(configuredSecretFile, CONFIGURED_CLIENT_SECRET, { mode: 0o600 });
    chmodSync(configuredSecretFile, 0o600);
    const ccSecretFile = join(secrets, "cc-secret");
    writeFileSync(ccSecretFile, CC_SECRET, { mode: 0o600 });
    chmodSync(ccSecretFile, 0o600);

    const policyText = (o: { withAgentBinding?: boolean } = {}) => policyYaml({ rsPort: rsPort, upstreamIssuer: upstream.issuer, tokenEndpoint: `${upstream.issuer}/token`, resource, configuredSecretFile, staticSecretFile, ccSecretFile, withAgentBinding: o.withAgentBinding ?? true });
    const policyDir = join(root, "policies");
    mkdirSync(policyDir);
    writeFileSync(join(policyDir, "test.yaml"), policyText());
    const engine = new PolicyEngine({ dir: policyDir, trustDomain: TD, logger: silentLogger, pollMs: 60_000 });
    const started = await engine.start();
    if (!started.ok) throw new Error(`test policy invalid: ${JSON.stringify(started.diagnostics)}`);
    cleanups.push(() => engine.stop());

    const config = resolveConfig([
      { origin: "flag", raw: { trustDomain: TD, issuer, proxy: { upstreamCaFile: tls.caFile }, broker: { refreshAhead: `${options.refreshAheadSeconds ?? 60}s` } } },
    ]).config;
    const tokens = await createTestTokenIssuer(issuer);
    const resumer = new TestResumer(issuer);
    let offset = 0;
    const broker = await startBroker({
      config,
      store,
      audit,
      policy: engine,
      ca,
      verifier: tokens.verifier,
      logger: silentLogger,
      clock: () => Date.now() + offset,
      refreshSweepMs: options.refreshSweepMs ?? 0,
    });
    cleanups.push(() => broker.stop());
    broker.setResumer(resumer);
    const app = createHttpApp({ logger: silentLogger, modules: broker.routes });
    app.listen({ hostname: "127.0.0.1", port });
    cleanups.push(() => app.stop(true));

    const agentClient = (workload = AGENT): OAuthClient => ({
      clientId: `client-${workload.split("/").pop()}`,
      redirectUris: [AGENT_REDIRECT],
      grantTypes: ["authorization_code", "refresh_token"],
      responseTypes: ["code"],
      tokenEndpointAuthMethod: "none",
      applicationType: "native",
      spiffeId: workload,
      origin: "attested",
      createdAt: Math.floor(Date.now() / 1000),
    });

    return {
      root,
      tls,
      config,
      store,
      audit,
      ca,
      engine,
      upstream,
      tokens,
      resumer,
      broker,
      issuer,
      resource,
      rsPort: rsPort,
      seen,
      staticSecretFile,
      advance: (ms) => {
        offset += ms;
      },
      async setPolicy(text) {
        writeFileSync(join(policyDir, "test.yaml"), text);
        const r = await engine.reloadNow();
        if (r.status !== "applied") throw new Error(`policy not applied: ${r.status} ${JSON.stringify(r.diagnostics)}`);
      },
      policyText,
      agentClient,
      pending: (user = ALICE, workload = AGENT) =>
        resumer.create({ client: agentClient(workload), user, workload, resources: [resource], redirectUri: AGENT_REDIRECT, state: "agent-state" }),
      async authorizeUpstream(pending, o = {}) {
        const outcome = await broker.step.beforeCode(pending);
        if (outcome.kind !== "redirect") throw new Error(`expected a redirect, got ${JSON.stringify(outcome)}`);
        const callback = await completeUpstreamLogin(outcome.location, { account: "alice-upstream", ca: tls.ca, redirectPrefix: `${issuer}/oauth2/upstream/callback`, ...(o.deny ? { deny: true } : {}) });
        const session = o.session === undefined ? pending.user : o.session;
        return fetch(callback, { redirect: "manual", headers: session ? { cookie: resumer.login(session) } : {} });
      },
      sessionCookie: (user) => resumer.login(user),
      connection: (workload, pid = 4242) => ({
        id: 1,
        origin: { pid, uid: 1000, gid: 1000, cgroupId: 1n, ...(workload ? { workload } : {}), via: "kernel-redirect" },
        destination: { host: "127.0.0.1", port: rsPort },
        service: engine.current().service("mcp")!,
      }),
      head: (authorization, extra = []) => ({
        method: "POST",
        target: "/mcp",
        version: "HTTP/1.1",
        headers: [["Host", `127.0.0.1:${rsPort}`], ...(authorization ? ([["Authorization", authorization]] as [string, string][]) : []), ...extra],
      }),
      async forward(head, decision) {
        if (decision.kind !== "forward") throw new Error(`decision was ${decision.kind} ${decision.status}`);
        const remove = new Set((decision.removeHeaders ?? []).map((h) => h.toLowerCase()));
        const headers = new Headers();
        for (const [n, v] of head.headers) if (!remove.has(n.toLowerCase()) && n.toLowerCase() !== "host") headers.append(n, v);
        for (const [n, v] of decision.setHeaders ?? []) headers.set(n, v);
        return fetch(`https://127.0.0.1:${rsPort}${head.target}`, { method: head.method, headers, tls: { ca: tls.ca } });
      },
      async auditRecords() {
        await audit.flush();
        return audit.since(0, 100_000);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

function policyYaml(p: { rsPort: number; upstreamIssuer: string; configuredSecretFile: string; tokenEndpoint: string; resource: string; staticSecretFile: string; ccSecretFile: string; withAgentBinding: boolean }): string {
  const workload = (name: string, uid: number) => `apiVersion: sluice/v1alpha1
kind: WorkloadIdentity
metadata: {name: ${name}}
spec:
  workloadID: ${name}
  selectors: [{process:uid: [${uid}]}]
  egress: [{services: {app: mcp}}]
---
`;
  const binding = (name: string, source: string, wl: string, human?: string) => `apiVersion: sluice/v1alpha1
kind: CredentialBinding
metadata: {name: ${name}}
spec:
  credentialSource: ${source}
  workloadID: ${wl}
${human ? `  humanID: ${human}\n` : ""}  propagation: {injection: {selectors: [{app: mcp}]}}
---
`;
  return `${workload("agent", 1000)}${workload("thief", 1001)}${workload("static-tool", 1002)}${workload("cc-tool", 1003)}${workload("jwt-tool", 1004)}apiVersion: sluice/v1alpha1
kind: Service
metadata: {name: mcp}
spec:
  addresses: [{address: 127.0.0.1, port: ${p.rsPort}}]
  labels: {app: mcp}
  tls: intercept
---
apiVersion: sluice/v1alpha1
kind: CredentialSource
metadata: {name: upstream-mcp}
spec:
  oauth2AuthorizationCode:
    scopes: [mcp:tools]
---
apiVersion: sluice/v1alpha1
kind: CredentialSource
metadata: {name: upstream-mcp-configured}
spec:
  oauth2AuthorizationCode:
    authorizationEndpoint: ${p.upstreamIssuer}/auth
    tokenEndpoint: ${p.upstreamIssuer}/token
    clientID: ${CONFIGURED_CLIENT_ID}
    clientSecretFrom: {file: ${p.configuredSecretFile}}
    scopes: [mcp:tools]
---
apiVersion: sluice/v1alpha1
kind: CredentialSource
metadata: {name: api-key}
spec:
  static: {valueFrom: {file: ${p.staticSecretFile}}, header: X-Api-Key, format: "{value}"}
---
apiVersion: sluice/v1alpha1
kind: CredentialSource
metadata: {name: cc}
spec:
  oauth2ClientCredentials:
    tokenEndpoint: ${p.tokenEndpoint}
    clientID: cc-client
    clientSecretFrom: {file: ${p.ccSecretFile}}
    audience: ${p.resource}
---
apiVersion: sluice/v1alpha1
kind: CredentialSource
metadata: {name: svid}
spec:
  jwtSVID: {audience: [${JWT_AUDIENCE}]}
---
${p.withAgentBinding ? binding("agent-mcp-alice", "upstream-mcp", "agent", ALICE.spiffeId) : ""}${binding("agent-mcp-carol", "upstream-mcp-configured", "agent", CAROL.spiffeId)}${binding("static-tool-mcp", "api-key", "static-tool")}${binding("cc-tool-mcp", "cc", "cc-tool")}${binding("jwt-tool-mcp", "svid", "jwt-tool")}`;
}
