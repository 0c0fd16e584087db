/**
 * A users-area server for tests: a real store in a temp dir, the audit log, `startUsers` with the
 * in-memory AS parts, mounted with `createHttpApp` and listening on loopback. The issuer is
 * `http://localhost:<port>`: WebAuthn accepts `localhost` as an RP ID over http (a secure
 * context), never an IP address.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAdminSocket } from "../../../src/admin/index.ts";
import { AuditLog } from "../../../src/audit/index.ts";
import { loadConfig, type SluiceConfig } from "../../../src/config/index.ts";
import { silentLogger } from "../../../src/log/index.ts";
import type { AuthorizationStep } from "../../../src/oauth/types.ts";
import { createHttpApp } from "../../../src/server/http.ts";
import { openStore, type Store } from "../../../src/store/index.ts";
import { startUsers, type UsersService } from "../../../src/users/index.ts";
import { MemoryClients, MemoryCodes, MemoryResources } from "./oauth-parts.ts";

export const RESOURCE = "https://mcp.example.com";

export interface UsersHarness {
  readonly issuer: string;
  readonly root: string;
  readonly config: SluiceConfig;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly users: UsersService;
  /** Serve's admin socket with the users' operations, as `sluice serve` offers them. */
  readonly adminSocketPath: string;
  readonly clients: MemoryClients;
  readonly codes: MemoryCodes;
  close(): Promise<void>;
}

export async function startUsersHarness(options: { steps?: AuthorizationStep[]; env?: Record<string, string>; host?: string; attemptLimit?: { ratePerSecond: number; burst: number } } = {}): Promise<UsersHarness> {
  const root = mkdtempSync(join(tmpdir(), "sluice-users-"));
  const port = freePort();
  const host = options.host ?? "localhost";
  const { config } = loadConfig({
    file: "none",
    env: { SLUICE_DATA_DIR: join(root, "data"), SLUICE_ISSUER: `http://${host}:${port}`, SLUICE_LISTEN: `127.0.0.1:${port}`, SLUICE_TRUST_DOMAIN: "example.org", ...options.env },
  });
  const store = await openStore({ dataDir: config.dataDir });
  const audit = await AuditLog.open(store, { mirrorPath: null });
  const clients = new MemoryClients();
  const codes = new MemoryCodes();
  const users = await startUsers({ config, store, audit, clients, codes, resources: new MemoryResources([RESOURCE]), steps: options.steps ?? [], logger: silentLogger, ...(options.attemptLimit ? { attemptLimit: options.attemptLimit } : {}) });
  const admin = startAdminSocket({ dataDir: config.dataDir, areas: [users.adminArea], logger: silentLogger });
  const app = createHttpApp({ logger: silentLogger, modules: users.routes });
  app.listen({ hostname: "127.0.0.1", port });
  return {
    issuer: config.issuer,
    root,
    config,
    store,
    audit,
    users,
    adminSocketPath: admin.path,
    clients,
    codes,
    async close() {
      await app.stop(true);
      await admin.stop();
      await users.stop();
      await audit.close();
      await store.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

/** A cookie-keeping HTTP client for the pages (no redirects followed: tests look at each one). */
export class Browser {
  readonly jar = new Map<string, string>();
  constructor(readonly base: string) {}

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.#send(path, { method: "GET", headers });
  }

  async post(path: string, form: Record<string, string | string[]>, headers: Record<string, string> = {}): Promise<Response> {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
    return this.#send(path, { method: "POST", body, headers: { origin: new URL(this.base).origin, "content-type": "application/x-www-form-urlencoded", ...headers } });
  }

  async #send(path: string, init: RequestInit & { headers: Record<string, string> }): Promise<Response> {
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const response = await fetch(new URL(path, this.base), { ...init, redirect: "manual", headers: { ...(cookie ? { cookie } : {}), ...init.headers } });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (/Max-Age=0/i.test(line)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return response;
  }
}

/** The value of a hidden input in a page. */
export function hiddenField(html: string, name: string): string | undefined {
  return html.match(new RegExp(`name="${name}" value="([^"]*)"`))?.[1];
}
