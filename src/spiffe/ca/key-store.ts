/**
 * The CA's signing keys at rest: one record per key, the private key sealed (AES-256-GCM, AAD =
 * where it is stored), certificates and public JWKs in the clear. A key that fails to open is an
 * error, never a reason to make a new one.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { defineDatabase, type Sealer, type Store, type TypedDb } from "../../store/index.ts";
import type { JsonWebKey, JwtAuthority } from "../bundle/types.ts";
import { CaError } from "../errors.ts";
import type { KeyTimes } from "./rotation.ts";

export type KeyKind = "x509" | "jwt";

export interface StoredKey extends KeyTimes {
  readonly kind: KeyKind;
  /** PKCS#8 DER, sealed. */
  readonly sealedKey: Uint8Array;
  /** x509: the authority's certificate (DER). */
  readonly cert?: Uint8Array;
  /** jwt: the public JWK. */
  readonly jwk?: JsonWebKey;
}

export interface CaMeta {
  /** `spiffe_sequence` of the last published bundle (Trust Domain and Bundle §4.1.1: monotonic). */
  readonly sequence: number;
  /** Digest of that bundle's contents, to bump the sequence only when they change. */
  readonly digest: string;
  /** Whether the X.509 authorities are sluice's own (false while an operator intermediate is used). */
  readonly selfSigned: boolean;
  /** The published bundle's contents, for readers without the keys (`sluice bundle show`). */
  readonly published: { x509Authorities: Uint8Array[]; jwtAuthorities: JwtAuthority[]; refreshHint?: number };
}

export const caKeysDb = defineDatabase<[string, KeyKind, string], StoredKey>({ name: "spiffe-ca-keys" });
export const caMetaDb = defineDatabase<string, CaMeta>({ name: "spiffe-ca-meta" });

export class CaKeyStore {
  readonly #keys: TypedDb<[string, KeyKind, string], StoredKey>;
  readonly #meta: TypedDb<string, CaMeta>;
  readonly #sealer: Sealer;

  constructor(
    private readonly store: Store,
    readonly trustDomain: string,
  ) {
    this.#keys = store.db(caKeysDb);
    this.#meta = store.db(caMetaDb);
    this.#sealer = store.sealer("spiffe-ca");
  }

  list(kind: KeyKind): StoredKey[] {
    const td = this.trustDomain;
    const out: StoredKey[] = [];
    for (const { value } of this.#keys.getRange({ start: [td, kind, ""], end: [td, kind, "\uffff"] })) out.push(value);
    return out;
  }

  seal(kind: KeyKind, id: string, pkcs8: Uint8Array): Uint8Array {
    return this.#sealer.seal(pkcs8, this.#aad(kind, id));
  }

  open(key: StoredKey): KeyObject {
    try {
      const der = this.#sealer.open(key.sealedKey, this.#aad(key.kind, key.id));
      return createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" });
    } catch (err) {
      throw new CaError(
        "ERR_CA_KEY_UNREADABLE",
        `the ${key.kind} signing key ${key.id} of ${this.trustDomain} in ${this.store.dataDir} cannot be decrypted (was master.key replaced?); restore the original master.key — sluice will not silently create a new CA`,
        { cause: err },
      );
    }
  }

  /** Inside `store.transactionSync`. */
  put(key: StoredKey): void {
    this.#keys.putSync([this.trustDomain, key.kind, key.id], key);
  }

  remove(kind: KeyKind, id: string): void {
    this.#keys.removeSync([this.trustDomain, kind, id]);
  }

  meta(): CaMeta | undefined {
    return this.#meta.get(this.trustDomain);
  }

  putMeta(meta: CaMeta): void {
    this.#meta.putSync(this.trustDomain, meta);
  }

  transaction<T>(fn: () => T): T {
    return this.store.transactionSync(fn);
  }

  #aad(kind: KeyKind, id: string): string {
    return `spiffe-ca/${this.trustDomain}/${kind}/${id}`;
  }
}
