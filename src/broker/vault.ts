/**
 * The vault: upstream credentials sealed at rest (AES-256-GCM, `store.sealer("broker-tokens")`,
 * AAD = the record's key), keyed by (credential source, user SPIFFE ID or "" for bindings without a
 * human), in `broker.credentials`. Expiry and state stay in the clear so `sluice credentials list`
 * can show them without the master key's sealer; tokens never are.
 *
 * Reads go through an in-memory copy that is updated synchronously on every write: a rotated
 * refresh token is visible to the next request before LMDB's batched commit lands.
 */
import type { UpstreamClient } from "./oauth-client.ts";
import { defineDatabase, type Sealer, type Store } from "../store/index.ts";

export type VaultKey = readonly [source: string, user: string];

/** What is sealed. */
export interface UpstreamCredential {
  readonly accessToken: string;
  readonly refreshToken?: string;
  /** ms since the epoch; undefined = the upstream gave no lifetime. */
  readonly expiresAt?: number;
  readonly scope?: string;
  /** RFC 8707 resource the tokens were issued for. */
  readonly resource?: string;
  readonly issuer?: string;
  readonly tokenEndpoint: string;
  readonly revocationEndpoint?: string;
  /** The broker's registration at the upstream (secret included: it is sealed). */
  readonly client: UpstreamClient;
  readonly obtainedAt: number;
}

export type CredentialState = "active" | "failed";

/** What is stored: clear metadata and the sealed credential. */
export interface StoredCredential {
  readonly v: 1;
  readonly state: CredentialState;
  /** Why it failed (no secrets: the upstream's error code and description). */
  readonly failure?: string;
  readonly expiresAt?: number;
  readonly hasRefreshToken: boolean;
  readonly issuer?: string;
  readonly updatedAt: number;
  readonly sealed: Uint8Array;
}

export interface VaultEntry {
  readonly source: string;
  readonly user: string;
  readonly state: CredentialState;
  readonly failure?: string;
  readonly expiresAt?: number;
  readonly hasRefreshToken: boolean;
  readonly issuer?: string;
  readonly updatedAt: number;
}

export interface OpenedCredential extends VaultEntry {
  readonly credential: UpstreamCredential;
}

export const credentialsDb = defineDatabase<[string, string], StoredCredential>({ name: "broker.credentials" });
export const TOKEN_SEAL_PURPOSE = "broker-tokens";

export function vaultAad(source: string, user: string): string {
  return `broker.credentials/${source}/${user}`;
}

function entryOf(source: string, user: string, s: StoredCredential): VaultEntry {
  return {
    source,
    user,
    state: s.state,
    ...(s.failure !== undefined ? { failure: s.failure } : {}),
    ...(s.expiresAt !== undefined ? { expiresAt: s.expiresAt } : {}),
    hasRefreshToken: s.hasRefreshToken,
    ...(s.issuer !== undefined ? { issuer: s.issuer } : {}),
    updatedAt: s.updatedAt,
  };
}

/** Metadata only: works on a read-only store (the CLI next to a running serve). */
export function listVault(store: Store): VaultEntry[] {
  const out: VaultEntry[] = [];
  for (const { key, value } of store.db(credentialsDb).getRange()) out.push(entryOf(key[0], key[1], value));
  return out;
}

export class Vault {
  readonly #db;
  readonly #sealer: Sealer;
  readonly #cache = new Map<string, OpenedCredential | null>();

  constructor(
    private readonly store: Store,
    private readonly clock: () => number = Date.now,
  ) {
    this.#db = store.db(credentialsDb);
    this.#sealer = store.sealer(TOKEN_SEAL_PURPOSE);
  }

  get(source: string, user: string): OpenedCredential | undefined {
    const id = cacheKey(source, user);
    const cached = this.#cache.get(id);
    if (cached !== undefined) return cached ?? undefined;
    const stored = this.#db.get([source, user]);
    if (!stored) {
      this.#cache.set(id, null);
      return undefined;
    }
    const credential = JSON.parse(this.#sealer.openString(stored.sealed, vaultAad(source, user))) as UpstreamCredential;
    const opened = { ...entryOf(source, user, stored), credential };
    this.#cache.set(id, opened);
    return opened;
  }

  /** Stores fresh tokens (state active). Resolves when committed. */
  put(source: string, user: string, credential: UpstreamCredential): Promise<boolean> {
    return this.#write(source, user, credential, "active", undefined);
  }

  /** Marks the credential failed (e.g. the refresh token was refused); the tokens stay for revocation. */
  markFailed(source: string, user: string, reason: string): Promise<boolean> {
    const current = this.get(source, user);
    if (!current) return Promise.resolve(false);
    return this.#write(source, user, current.credential, "failed", reason.slice(0, 300));
  }

  remove(source: string, user: string): Promise<boolean> {
    this.#cache.set(cacheKey(source, user), null);
    return this.#db.remove([source, user]);
  }

  entries(): VaultEntry[] {
    return listVault(this.store);
  }

  #write(source: string, user: string, credential: UpstreamCredential, state: CredentialState, failure: string | undefined): Promise<boolean> {
    const stored: StoredCredential = {
      v: 1,
      state,
      ...(failure !== undefined ? { failure } : {}),
      ...(credential.expiresAt !== undefined ? { expiresAt: credential.expiresAt } : {}),
      hasRefreshToken: credential.refreshToken !== undefined,
      ...(credential.issuer !== undefined ? { issuer: credential.issuer } : {}),
      updatedAt: this.clock(),
      sealed: this.#sealer.seal(JSON.stringify(credential), vaultAad(source, user)),
    };
    this.#cache.set(cacheKey(source, user), { ...entryOf(source, user, stored), credential });
    return this.#db.put([source, user], stored);
  }
}

function cacheKey(source: string, user: string): string {
  return `${source}\n${user}`;
}
