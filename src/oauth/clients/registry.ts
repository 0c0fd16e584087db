/**
 * The `ClientRegistry`: registered clients in LMDB, metadata documents on demand, authentication,
 * use tracking (batched) and idle expiry with audit records.
 */
import type { AuditInput } from "../../audit/index.ts";
import type { Logger } from "../../log/index.ts";
import type { BundleSource } from "../../spiffe/index.ts";
import type { Store, TypedDb } from "../../store/index.ts";
import { OAuthError, type AuthenticatedClient, type CallerContext, type ClientAuthInput, type ClientAuthMethod, type ClientRegistry, type OAuthClient } from "../types.ts";
import { authenticateClient } from "./authenticate.ts";
import { CLIENT_LIMITS } from "./limits.ts";
import { isMetadataDocumentUrl, type MetadataDocuments } from "./metadata-documents.ts";
import { JtiCache, JwksCache } from "./private-key-jwt.ts";
import { clientsBySpiffeDb, clientsDb, toOAuthClient, type ClientRecord } from "./records.ts";
import { redirectUriMatches } from "./redirect-uri.ts";
import { buildRegistration } from "./registration.ts";
import type { FetchDocumentOptions } from "./safe-fetch.ts";

export interface AuditSink {
  append(input: AuditInput): unknown;
}

export interface ClientStoreOptions {
  readonly issuer: string;
  readonly store: Store;
  readonly audit: AuditSink;
  readonly bundles: BundleSource;
  readonly documents: MetadataDocuments;
  readonly fetchOptions: FetchDocumentOptions;
  readonly idleExpirySeconds: number;
  readonly logger: Logger;
  readonly now: () => number;
}

export class StoredClientRegistry implements ClientRegistry {
  readonly #clients: TypedDb<string, ClientRecord>;
  readonly #bySpiffe: TypedDb<[string, string], true>;
  readonly #jtis: JtiCache;
  readonly #jwksCache: JwksCache;
  /** clientId → last use (s), written in batches by `flushTouches`. */
  readonly #touched = new Map<string, number>();

  constructor(private readonly o: ClientStoreOptions) {
    this.#clients = o.store.db(clientsDb);
    this.#bySpiffe = o.store.db(clientsBySpiffeDb);
    this.#jtis = new JtiCache(o.now);
    this.#jwksCache = new JwksCache(o.now);
  }

  async get(clientId: string): Promise<OAuthClient | undefined> {
    const record = await this.record(clientId);
    return record && toOAuthClient(record);
  }

  /** The stored (or fetched) record with everything registration kept. */
  async record(clientId: string): Promise<ClientRecord | undefined> {
    if (isMetadataDocumentUrl(clientId)) return this.o.documents.get(clientId);
    const record = this.#clients.get(clientId);
    if (!record || this.#expired(record)) return undefined;
    return record;
  }

  authenticate(input: ClientAuthInput): Promise<AuthenticatedClient> {
    return authenticateClient(input, {
      issuer: this.o.issuer,
      bundles: this.o.bundles,
      jtis: this.#jtis,
      jwksCache: this.#jwksCache,
      fetchOptions: this.o.fetchOptions,
      now: this.o.now,
      lookup: { record: (id) => this.record(id), bySpiffeId: (id, method) => this.#bySpiffeId(id, method) },
    });
  }

  redirectUriAllowed(client: OAuthClient, redirectUri: string): boolean {
    return redirectUriMatches(client.redirectUris, redirectUri);
  }

  touch(clientId: string): void {
    if (isMetadataDocumentUrl(clientId)) return;
    if (this.#touched.size >= CLIENT_LIMITS.maxClients && !this.#touched.has(clientId)) this.flushTouches();
    this.#touched.set(clientId, Math.floor(this.o.now() / 1000));
  }

  /** RFC 7591 §3: validates, binds, stores; audits. Throws OAuthError. */
  async register(body: Record<string, unknown>, caller: CallerContext): Promise<ClientRecord> {
    const now = Math.floor(this.o.now() / 1000);
    const { record, metadata } = buildRegistration(body, caller, { issuer: this.o.issuer, bundles: this.o.bundles, now });
    await this.o.store.transaction(() => {
      if (this.#clients.count() >= CLIENT_LIMITS.maxClients)
        throw new OAuthError("temporarily_unavailable", `sluice holds ${CLIENT_LIMITS.maxClients} clients; unused ones expire, or remove some with \`sluice client rm\``, { status: 503 });
      this.#clients.putSync(record.clientId, record);
      if (record.spiffeId && !record.spiffeId.endsWith("/*")) this.#bySpiffe.putSync([record.spiffeId, record.clientId], true);
    });
    this.o.audit.append({
      kind: "oauth.client.register",
      decision: "allow",
      ...(record.spiffeId ? { subject: record.spiffeId } : {}),
      details: {
        clientId: record.clientId,
        origin: record.origin,
        method: record.tokenEndpointAuthMethod,
        ...(record.registeredBy?.proof ? { proof: record.registeredBy.proof } : {}),
        ...(caller.remoteAddress ? { remoteAddress: caller.remoteAddress } : {}),
        ...(metadata.replacedAuthMethod ? { replacedAuthMethod: metadata.replacedAuthMethod } : {}),
        redirectUris: record.redirectUris.length,
      },
    });
    return record;
  }

  /** A registration refused for a bad credential (a SPIFFE proof that did not verify) is a security event: audited. */
  auditRefusal(caller: CallerContext, err: OAuthError): void {
    if (err.error !== "invalid_client" && err.error !== "invalid_software_statement") return;
    this.o.audit.append({
      kind: "oauth.client.register",
      decision: "deny",
      ...(caller.attestedSpiffeId ? { subject: caller.attestedSpiffeId } : {}),
      details: { error: err.error, reason: err.description, ...(caller.remoteAddress ? { remoteAddress: caller.remoteAddress } : {}) },
    });
  }

  list(): ClientRecord[] {
    return [...this.#clients.getRange()].map((e) => this.#withTouch(e.value));
  }

  async remove(clientId: string, reason: "removed" | "expired" = "removed"): Promise<boolean> {
    const lastUse = this.#touched.get(clientId);
    this.#touched.delete(clientId);
    return removeClient(this.o.store, this.o.audit, clientId, reason, lastUse);
  }

  /** Writes pending `touch`es (queued puts: one batched commit, never a sync write per request). */
  flushTouches(): void {
    for (const [clientId, at] of this.#touched) {
      const record = this.#clients.get(clientId);
      if (record && record.lastUsedAt < at) void this.#clients.put(clientId, { ...record, lastUsedAt: at });
    }
    this.#touched.clear();
  }

  /** Removes clients unused for `idleExpirySeconds`; returns how many. */
  async sweep(): Promise<number> {
    this.flushTouches();
    const expired = [...this.#clients.getRange()].filter((e) => this.#expired(e.value)).map((e) => e.key);
    let removed = 0;
    for (const clientId of expired) if (await this.remove(clientId, "expired")) removed++;
    if (removed > 0) this.o.logger.info("expired unused OAuth clients", { removed, idleExpirySeconds: this.o.idleExpirySeconds });
    return removed;
  }

  #expired(record: ClientRecord): boolean {
    return this.#withTouch(record).lastUsedAt + this.o.idleExpirySeconds <= this.o.now() / 1000;
  }

  #withTouch(record: ClientRecord): ClientRecord {
    const touched = this.#touched.get(record.clientId);
    return touched !== undefined && touched > record.lastUsedAt ? { ...record, lastUsedAt: touched } : record;
  }

  #bySpiffeId(spiffeId: string, method: ClientAuthMethod): ClientRecord | undefined {
    const found: ClientRecord[] = [];
    for (const key of this.#bySpiffe.keys({ start: [spiffeId, ""], end: [spiffeId, "\uffff"], limit: 100 })) {
      const record = this.#clients.get(key[1]);
      if (record && record.tokenEndpointAuthMethod === method && !this.#expired(record)) found.push(record);
    }
    if (found.length > 1)
      throw new OAuthError("invalid_client", `${found.length} clients are bound to ${spiffeId} with ${method}: send the client_id sluice issued at registration`);
    return found[0];
  }
}

/** Removes a stored client and its index entry, then audits (also used by `sluice client rm`). */
export async function removeClient(store: Store, audit: AuditSink, clientId: string, reason: "removed" | "expired", lastUse?: number): Promise<boolean> {
  const clients = store.db(clientsDb);
  const bySpiffe = store.db(clientsBySpiffeDb);
  const removed = await store.transaction(() => {
    const record = clients.get(clientId);
    if (!record) return undefined;
    clients.removeSync(clientId);
    if (record.spiffeId) bySpiffe.removeSync([record.spiffeId, clientId]);
    return record;
  });
  if (!removed) return false;
  const lastUsedAt = Math.max(removed.lastUsedAt, lastUse ?? 0);
  audit.append({
    kind: reason === "expired" ? "oauth.client.expire" : "oauth.client.remove",
    decision: "info",
    ...(removed.spiffeId ? { subject: removed.spiffeId } : {}),
    details: { clientId, origin: removed.origin, lastUsedAt: new Date(lastUsedAt * 1000).toISOString() },
  });
  return true;
}
