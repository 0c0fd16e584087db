/**
 * The token side as `sluice serve` will run it, over real parts: LMDB store and hash-chained audit
 * log in a temp dir, a real TrustDomainCA (example.org) plus a second real CA (partner.test) whose
 * bundle is federated in, a real PolicySnapshot from policy files (Services the resources name),
 * and a real HTTP server on loopback (createHttpApp + the OAuth routes). Clients and users come from
 * the small in-memory registries next to this file (the users part builds the real directory);
 * `realClients: true` uses the clients part's real registry and its /oauth2/register route instead.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditLog, type AuditRecord } from "../../../src/audit/index.ts";
import { resolveConfig, type RawConfig, type SluiceConfig } from "../../../src/config/index.ts";
import { silentLogger } from "../../../src/log/index.ts";
import { createClientRegistry, startOAuth, type OAuthRateLimits, type OAuthServer } from "../../../src/oauth/index.ts";
import { loadPolicyDir } from "../../../src/policy/index.ts";
import { createHttpApp } from "../../../src/server/http.ts";
import { openTrustDomainCA, type TrustDomainCA } from "../../../src/spiffe/index.ts";
import { openStore, type Store } from "../../../src/store/index.ts";
import { MemoryClientRegistry } from "./memory-clients.ts";
import { MemoryUserDirectory } from "./memory-users.ts";

export const TD = "example.org";
export const PARTNER_TD = "partner.test";
/** Services in the test policy: resources must name one of them. */
export const MCP_RESOURCE = "https://mcp.example.test/mcp";
export const OTHER_RESOURCE = "https://api.example.test";
export const LOOPBACK_RESOURCE = "http://127.0.0.1:8931/mcp";

const POLICY = `apiVersion: sluice/v1alpha1
kind: Service
metadata: {name: mcp}
spec:
  addresses: [{address: mcp.example.test, port: 443}]
  labels: {app: mcp}
---
apiVersion: sluice/v1alpha1
kind: Service
metadata: {name: api}
spec:
  addresses: [{address: api.example.test, port: 443}]
  labels: {app: api}
---
apiVersion: sluice/v1alpha1
kind: Service
metadata: {name: local-mcp}
spec:
  addresses: [{address: 127.0.0.1, port: 8931}]
  labels: {app: local-mcp}
`;

export interface OAuthFixture {
  readonly issuer: string;
  readonly config: SluiceConfig;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly ca: TrustDomainCA;
  readonly partner: TrustDomainCA;
  /** The in-memory registry (unused when the fixture runs with `realClients`). */
  readonly clients: MemoryClientRegistry;
  readonly users: MemoryUserDirectory;
  readonly oauth: OAuthServer;
  /** Moves the token side's clock forward (expiry tests); undo with a negative value. */
  advanceOAuthClock(seconds: number): void;
  /** Moves the CA's clock (ms; 0 = real time, down to -1 h) to issue SVIDs dated in the past. */
  setCaSkew(ms: number): void;
  /** Audit records appended so far (flushed first). */
  auditRecords(): Promise<AuditRecord[]>;
  close(): Promise<void>;
}

export interface FixtureOptions {
  readonly oauth?: RawConfig["oauth"];
  readonly rateLimits?: OAuthRateLimits;
  /** Issuer path, e.g. "/as" (RFC 8414 §3.1 tests). */
  readonly issuerPath?: string;
  /** Use the clients part's real registry (src/oauth/clients, with its /oauth2/register route). */
  readonly realClients?: boolean;
}

export const GENEROUS_LIMITS: OAuthRateLimits = { perAddress: { ratePerSecond: 1e6, burst: 1e6 }, perClient: { ratePerSecond: 1e6, burst: 1e6 } };

export async function startOAuthFixture(options: FixtureOptions = {}): Promise<OAuthFixture> {
  const root = mkdtempSync(join(tmpdir(), "sluice-oauth-"));
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(root, { recursive: true, force: true })];
  const close = async () => {
    for (const c of cleanups.reverse()) await c();
  };
  try {
    const store = await openStore({ dataDir: join(root, "data") });
    cleanups.push(() => store.close());
    const audit = await AuditLog.open(store, { mirrorPath: null });
    cleanups.push(() => audit.close());
    // The CA's clock starts an hour back so a test can issue JWT-SVIDs that are already expired
    // (`setCaSkew(-3600_000)`); it runs on real time otherwise.
    let skewMs = -3600_000;
    const ca = openTrustDomainCA({ store, trustDomain: TD, logger: silentLogger, now: () => Date.now() + skewMs });
    skewMs = 0;
    cleanups.push(() => ca.close());
    const partnerStore = await openStore({ dataDir: join(root, "partner") });
    cleanups.push(() => partnerStore.close());
    const partner = openTrustDomainCA({ store: partnerStore, trustDomain: PARTNER_TD, logger: silentLogger });
    cleanups.push(() => partner.close());
    ca.bundles.set(partner.bundle());

    const policyDir = join(root, "policies");
    mkdirSync(policyDir);
    writeFileSync(join(policyDir, "services.yaml"), POLICY);
    const loaded = await loadPolicyDir(policyDir, { trustDomain: TD });
    if (!loaded.snapshot) throw new Error(`test policy invalid: ${JSON.stringify(loaded.diagnostics)}`);
    const snapshot = loaded.snapshot;

    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}${options.issuerPath ?? ""}`;
    const config = resolveConfig([{ origin: "flag", raw: { trustDomain: TD, issuer, ...(options.oauth ? { oauth: options.oauth } : {}) } }]).config;
    let oauthSkew = 0;
    const clients = new MemoryClientRegistry(issuer, ca.bundles);
    const users = new MemoryUserDirectory(TD);
    const real = options.realClients ? await createClientRegistry({ config, store, audit, ca, logger: silentLogger }) : undefined;
    if (real) cleanups.push(() => real.stop());
    const oauth = await startOAuth({
      config,
      store,
      audit,
      policy: { current: () => snapshot },
      ca,
      clients: real?.registry ?? clients,
      users,
      logger: silentLogger,
      rateLimits: options.rateLimits ?? GENEROUS_LIMITS,
      now: () => Math.floor(Date.now() / 1000) + oauthSkew,
    });
    cleanups.push(() => oauth.stop());
    const app = createHttpApp({ logger: silentLogger, modules: [...oauth.routes, ...(real?.routes ?? [])] });
    app.listen({ hostname: "127.0.0.1", port });
    cleanups.push(async () => {
      await app.stop(true);
    });

    return {
      issuer,
      config,
      store,
      audit,
      ca,
      partner,
      clients,
      users,
      oauth,
      advanceOAuthClock(seconds: number) {
        oauthSkew += seconds;
      },
      setCaSkew(ms: number) {
        skewMs = ms;
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

async function freePort(): Promise<number> {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port!;
  await probe.stop(true);
  return port;
}
