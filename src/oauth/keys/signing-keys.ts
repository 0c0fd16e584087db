/**
 * The AS's token signing keys: ES256 (default) and RS256, private keys sealed in the store
 * (`store.sealer("oauth-keys")`), rotated every `signingKeyTtlSeconds`. A successor is generated
 * and published in the JWKS a tenth of the lifetime before it starts signing (so verifiers that
 * cache the JWKS see it first); a retired key stays published until every token it signed has
 * expired (`signUntil + maxTokenTtl`), then it is deleted.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { exportJWK, type JWK } from "jose";
import type { Logger } from "../../log/index.ts";
import { defineDatabase, type Store } from "../../store/index.ts";

export type SigningAlg = "ES256" | "RS256";
export const SIGNING_ALGS: readonly SigningAlg[] = ["ES256", "RS256"];

interface StoredKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  /** Seconds since the epoch. */
  readonly activeFrom: number;
  readonly signUntil: number;
  /** Published until then: the last token it signs expires by this time. */
  readonly retireAt: number;
  /** PKCS#8 DER, sealed. */
  readonly sealed: Uint8Array;
}

export const signingKeysDb = defineDatabase<string, StoredKey>({ name: "oauth.signing-keys" });

export interface LoadedKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly activeFrom: number;
  readonly signUntil: number;
  readonly retireAt: number;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly jwk: JWK;
}

export interface SigningKeysOptions {
  readonly store: Store;
  readonly logger: Logger;
  readonly keyTtlSeconds: number;
  /** The longest lifetime of any token these keys sign (access, id), plus leeway. */
  readonly maxTokenTtlSeconds: number;
  /** Seconds since the epoch. */
  readonly now?: () => number;
}

export class SigningKeys {
  readonly #db;
  readonly #sealer;
  readonly #options: SigningKeysOptions;
  readonly #now: () => number;
  #keys = new Map<string, LoadedKey>();
  #jwks: { keys: JWK[] } = { keys: [] };

  private constructor(options: SigningKeysOptions) {
    this.#options = options;
    this.#db = options.store.db(signingKeysDb);
    this.#sealer = options.store.sealer("oauth-keys");
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  static async open(options: SigningKeysOptions): Promise<SigningKeys> {
    const keys = new SigningKeys(options);
    await keys.tick();
    return keys;
  }

  /** The key that signs now for `alg`. */
  current(alg: SigningAlg = "ES256"): LoadedKey {
    const now = this.#now();
    let best: LoadedKey | undefined;
    for (const k of this.#keys.values()) {
      if (k.alg === alg && k.activeFrom <= now && now < k.signUntil && (!best || k.activeFrom > best.activeFrom)) best = k;
    }
    if (!best) throw new Error(`no active ${alg} signing key (the rotation timer has not run)`);
    return best;
  }

  /** A published key by `kid` (for verification). */
  byKid(kid: string): LoadedKey | undefined {
    return this.#keys.get(kid);
  }

  /** RFC 7517 JWK Set of every published public key. */
  jwks(): { keys: JWK[] } {
    return this.#jwks;
  }

  /** Generates successors, deletes keys past `retireAt`. Returns true when the JWKS changed. */
  async tick(): Promise<boolean> {
    const now = this.#now();
    const { keyTtlSeconds, maxTokenTtlSeconds } = this.#options;
    let changed = false;
    for (const { key, value } of [...this.#db.getRange()]) {
      if (value.retireAt <= now) {
        this.#db.removeSync(key);
        changed = true;
      }
    }
    const lead = Math.max(1, Math.floor(keyTtlSeconds / 10));
    for (const alg of SIGNING_ALGS) {
      const stored = [...this.#db.getRange()].map((e) => e.value).filter((k) => k.alg === alg);
      const lastUntil = Math.max(0, ...stored.map((k) => k.signUntil));
      if (lastUntil <= now) {
        this.#create(alg, now, now + keyTtlSeconds, maxTokenTtlSeconds);
        changed = true;
      } else if (lastUntil - now <= lead) {
        this.#create(alg, lastUntil, lastUntil + keyTtlSeconds, maxTokenTtlSeconds);
        changed = true;
      }
    }
    if (changed || this.#keys.size === 0) await this.#load();
    if (changed) this.#options.logger.info("token signing keys changed", { kids: [...this.#keys.keys()] });
    return changed;
  }

  #create(alg: SigningAlg, activeFrom: number, signUntil: number, maxTokenTtl: number): void {
    const kid = randomBytes(12).toString("base64url");
    const pair =
      alg === "ES256" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("rsa", { modulusLength: 2048 });
    const der = pair.privateKey.export({ format: "der", type: "pkcs8" });
    const record: StoredKey = { kid, alg, activeFrom, signUntil, retireAt: signUntil + maxTokenTtl, sealed: this.#sealer.seal(der, aad(kid)) };
    this.#db.putSync(kid, record);
  }

  async #load(): Promise<void> {
    const keys = new Map<string, LoadedKey>();
    for (const { value } of this.#db.getRange()) {
      const der = this.#sealer.open(value.sealed, aad(value.kid));
      const privateKey = createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" });
      const publicKey = createPublicKey(privateKey);
      keys.set(value.kid, { kid: value.kid, alg: value.alg, activeFrom: value.activeFrom, signUntil: value.signUntil, retireAt: value.retireAt, privateKey, publicKey, jwk: {} });
    }
    const list: JWK[] = [];
    for (const k of keys.values()) {
      const jwk = { ...(await exportJWK(k.publicKey)), kid: k.kid, alg: k.alg, use: "sig" };
      (k as { jwk: JWK }).jwk = jwk;
      list.push(jwk);
    }
    this.#keys = keys;
    this.#jwks = { keys: list };
  }
}

function aad(kid: string): string {
  return `oauth.signing-keys/${kid}`;
}
