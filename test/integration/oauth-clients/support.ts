/**
 * A real client side of the AS: LMDB store in a temp dir, the hash-chained audit log, sluice's
 * own trust domain CA (example.org), a federated CA (partner.test, its bundle set into the first
 * CA's `bundles` as FederatedBundles would) and a stranger CA (other.test, not federated), the
 * registry from `createClientRegistry`, and its routes served by `createHttpApp` on loopback.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditLog, type AuditRecord } from "../../../src/audit/index.ts";
import { silentLogger } from "../../../src/log/index.ts";
import { createClientRegistry, type ClientRegistryHandle, type ClientRegistryOptions } from "../../../src/oauth/clients/index.ts";
import { createHttpApp, type RouteModule } from "../../../src/server/http.ts";
import { openTrustDomainCA, type TrustDomainCA } from "../../../src/spiffe/index.ts";
import { openStore, type Store } from "../../../src/store/index.ts";

export const ISSUER = "https://as.example.org";
export const TD = "example.org";
export const PARTNER_TD = "partner.test";
export const STRANGER_TD = "other.test";

export interface Fixture {
  store: Store;
  audit: AuditLog;
  ca: TrustDomainCA;
  partner: TrustDomainCA;
  stranger: TrustDomainCA;
  clients: ClientRegistryHandle;
  /** Base URL of the HTTP app (`http://127.0.0.1:PORT`). */
  url: string;
  app: ReturnType<typeof createHttpApp>;
  clock: { now(): number; advance(ms: number): void };
  /** Audit records written so far (after flushing the batch). */
  auditRecords(kind?: string): Promise<AuditRecord[]>;
  dataDir: string;
  /** Stops everything and closes the stores, keeping the data dir (as after `sluice serve` stopped). */
  shutdown(): Promise<void>;
  close(): Promise<void>;
}

export async function openFixture(options: Partial<ClientRegistryOptions> & { extraModules?: (f: Fixture) => RouteModule[]; idleExpirySeconds?: number } = {}): Promise<Fixture> {
  const root = mkdtempSync(join(tmpdir(), "sluice-oauth-clients-"));
  const dataDir = join(root, "data");
  const store = await openStore({ dataDir });
  const audit = await AuditLog.open(store, { mirrorPath: null });
  const ca = openTrustDomainCA({ store, trustDomain: TD, logger: silentLogger });
  const others: Store[] = [];
  const side = async (td: string) => {
    const s = await openStore({ dataDir: join(root, td) });
    others.push(s);
    return openTrustDomainCA({ store: s, trustDomain: td, logger: silentLogger });
  };
  const partner = await side(PARTNER_TD);
  const stranger = await side(STRANGER_TD);
  ca.bundles.set(partner.bundle());

  let offset = 0;
  const clock = { now: () => Date.now() + offset, advance: (ms: number) => void (offset += ms) };
  const fixture = { store, audit, ca, partner, stranger, clock, dataDir } as Fixture;
  fixture.clients = await createClientRegistry({
    config: { issuer: ISSUER, oauth: { clientIdleExpirySeconds: options.idleExpirySeconds ?? 30 * 24 * 3600 } },
    store,
    audit,
    ca,
    logger: silentLogger,
    now: clock.now,
    ...options,
  });
  const app = createHttpApp({ logger: silentLogger, modules: [...fixture.clients.routes, ...(options.extraModules?.(fixture) ?? [])] });
  app.listen({ hostname: "127.0.0.1", port: 0 });
  fixture.app = app;
  fixture.url = `http://127.0.0.1:${app.server!.port}`;
  fixture.auditRecords = async (kind) => {
    await audit.flush();
    return audit.tail(1000).filter((r) => kind === undefined || r.kind === kind);
  };
  let down = false;
  fixture.shutdown = async () => {
    if (down) return;
    down = true;
    await app.stop(true);
    await fixture.clients.stop();
    for (const c of [ca, partner, stranger]) c.close();
    await audit.close();
    await store.close();
    for (const s of others) await s.close();
  };
  fixture.close = async () => {
    await fixture.shutdown();
    rmSync(root, { recursive: true, force: true });
  };
  return fixture;
}

export async function register(f: Fixture, body: unknown, init: { headers?: Record<string, string>; raw?: string } = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(`${f.url}/oauth2/register`, {
    method: "POST",
    headers: { "content-type": "application/json", ...init.headers },
    body: init.raw ?? JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
}

/** What the MCP TypeScript SDK sends when it registers (public client, loopback redirect). */
export const MCP_SDK_LIKE = {
  client_name: "test agent",
  redirect_uris: ["http://127.0.0.1:33418/callback"],
  grant_types: ["authorization_code", "refresh_token"],
  response_types: ["code"],
  token_endpoint_auth_method: "none",
};
