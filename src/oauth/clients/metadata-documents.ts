/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; MCP client
 * registration): an https `client_id` is the URL of the client's metadata. Fetched through
 * `fetchJsonDocument` (SSRF rules, no redirects, size cap, timeout), validated like a registration,
 * and cached briefly (Cache-Control max-age within bounds), one fetch at a time per URL.
 */
import type { BundleSource } from "../../spiffe/index.ts";
import { OAuthError } from "../types.ts";
import { CLIENT_LIMITS } from "./limits.ts";
import { validateMetadata } from "./metadata.ts";
import type { ClientRecord } from "./records.ts";
import { DocumentFetchError, fetchJsonDocument, type FetchDocumentOptions } from "./safe-fetch.ts";

type CacheEntry = { readonly record: ClientRecord; readonly expiresAt: number } | { readonly failure: OAuthError; readonly expiresAt: number };

/** A failed document is not fetched again for this long: a client_id must not make sluice a fetch loop. */
const FAILURE_CACHE_SECONDS = 30;

/** Is `clientId` meant as a metadata document URL (rather than an id sluice issued)? */
export function isMetadataDocumentUrl(clientId: string): boolean {
  return clientId.startsWith("https://");
}

/** CIMD §3: https, a path, no dot segments, no fragment, no user info. Throws invalid_client. */
export function checkClientIdUrl(clientId: string): URL {
  if (clientId.length > CLIENT_LIMITS.maxUriLength) throw invalid(`client_id URL is longer than ${CLIENT_LIMITS.maxUriLength} characters`);
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    throw invalid("client_id is not a valid URL");
  }
  if (url.protocol !== "https:") throw invalid("a client_id URL must use https");
  if (clientId.includes("#") || url.username || url.password) throw invalid("a client_id URL must not contain a fragment or user info");
  if (url.pathname === "/") throw invalid("a client_id URL must contain a path component (e.g. https://app.example/client.json)");
  // The parser resolves dot segments, so look at the text as sent (also percent-encoded dots).
  const rawPath = clientId.slice(url.origin.length).split("?")[0]!;
  if (rawPath.split("/").some((segment) => /^(\.|%2e){1,2}$/i.test(segment))) throw invalid("a client_id URL must not contain . or .. path segments");
  // The URL parser normalizes; the client_id must already be in that form so string comparison is exact.
  if (url.href !== clientId) throw invalid(`client_id is not in normalized form (did you mean ${url.href}?)`);
  return url;
}

export class MetadataDocuments {
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inflight = new Map<string, Promise<ClientRecord>>();

  constructor(
    private readonly bundles: BundleSource,
    private readonly fetchOptions: FetchDocumentOptions,
    private readonly now: () => number = Date.now,
  ) {}

  async get(clientId: string): Promise<ClientRecord> {
    const cached = this.#cache.get(clientId);
    if (cached && cached.expiresAt > this.now()) {
      if ("failure" in cached) throw cached.failure;
      return cached.record;
    }
    const running = this.#inflight.get(clientId);
    if (running) return running;
    const promise = this.#load(clientId)
      .catch((err: unknown) => {
        if (err instanceof OAuthError) this.#remember(clientId, { failure: err, expiresAt: this.now() + FAILURE_CACHE_SECONDS * 1000 });
        throw err;
      })
      .finally(() => this.#inflight.delete(clientId));
    this.#inflight.set(clientId, promise);
    return promise;
  }

  clear(): void {
    this.#cache.clear();
  }

  async #load(clientId: string): Promise<ClientRecord> {
    checkClientIdUrl(clientId);
    let fetched;
    try {
      fetched = await fetchJsonDocument(clientId, { ...this.fetchOptions, maxBytes: Math.min(this.fetchOptions.maxBytes, CLIENT_LIMITS.maxDocumentBytes) });
    } catch (err) {
      if (err instanceof DocumentFetchError) throw invalid(`client metadata document: ${err.message}`, err);
      throw err;
    }
    const record = this.#validate(clientId, fetched.body);
    const lifetime = Math.min(CLIENT_LIMITS.cacheMaxSeconds, Math.max(CLIENT_LIMITS.cacheMinSeconds, fetched.maxAgeSeconds ?? CLIENT_LIMITS.cacheDefaultSeconds));
    this.#remember(clientId, { record, expiresAt: this.now() + lifetime * 1000 });
    return record;
  }

  #remember(clientId: string, entry: CacheEntry): void {
    this.#cache.delete(clientId);
    if (this.#cache.size >= CLIENT_LIMITS.cacheMaxEntries) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(clientId, entry);
  }

  #validate(clientId: string, body: unknown): ClientRecord {
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw invalid("client metadata document is not a JSON object");
    const doc = body as Record<string, unknown>;
    // CIMD §4.1: client_id in the document MUST equal the URL it was fetched from (simple string comparison).
    if (doc.client_id !== clientId) throw invalid(`client metadata document: its client_id ${JSON.stringify(String(doc.client_id).slice(0, 100))} is not the URL it was fetched from`);
    // CIMD §4.1: no shared secrets in a public document.
    if ("client_secret" in doc || "client_secret_expires_at" in doc) throw invalid("client metadata document must not contain client_secret");
    const method = doc.token_endpoint_auth_method;
    if (method !== undefined && method !== "none" && method !== "private_key_jwt")
      throw invalid(`client metadata document: token_endpoint_auth_method ${JSON.stringify(method)} is not usable with a metadata document (none or private_key_jwt)`);
    if (doc.spiffe_id !== undefined) throw invalid("client metadata document: spiffe_id cannot be claimed by a document; register with a SPIFFE credential instead");
    if (typeof doc.client_name !== "string") throw invalid("client metadata document: client_name is required (MCP client registration)");
    let metadata;
    try {
      metadata = validateMetadata(doc, this.bundles);
    } catch (err) {
      if (err instanceof OAuthError) throw invalid(`client metadata document: ${err.description}`, err);
      throw err;
    }
    if (metadata.redirectUris.length === 0) throw invalid("client metadata document: redirect_uris is required");
    const now = Math.floor(this.now() / 1000);
    return {
      clientId,
      ...(metadata.clientName === undefined ? {} : { clientName: metadata.clientName }),
      redirectUris: metadata.redirectUris,
      grantTypes: metadata.grantTypes,
      responseTypes: metadata.responseTypes,
      tokenEndpointAuthMethod: metadata.tokenEndpointAuthMethod,
      applicationType: metadata.applicationType,
      ...(metadata.scope === undefined ? {} : { scope: metadata.scope }),
      ...(metadata.jwks === undefined ? {} : { jwks: metadata.jwks }),
      ...(metadata.jwksUri === undefined ? {} : { jwksUri: metadata.jwksUri }),
      ...(metadata.clientUri === undefined ? {} : { clientUri: metadata.clientUri }),
      ...(metadata.logoUri === undefined ? {} : { logoUri: metadata.logoUri }),
      origin: "metadata-document",
      createdAt: now,
      lastUsedAt: now,
    };
  }
}

function invalid(description: string, cause?: unknown): OAuthError {
  return new OAuthError("invalid_client", description, { status: 400, ...(cause === undefined ? {} : { cause }) });
}
