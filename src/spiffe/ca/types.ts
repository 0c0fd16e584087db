/** The public shape of the trust domain's CA. */
import type { KeyObject } from "node:crypto";
import type { BundleSet } from "../bundle/set.ts";
import type { TrustBundle } from "../bundle/types.ts";
import type { KeyKind } from "./key-store.ts";
import type { KeyState } from "./rotation.ts";

export interface X509SvidRequest {
  /** A SPIFFE ID of this trust domain with a non-root path (X509-SVID §3.1). */
  readonly spiffeId: string;
  /** Default 1 hour; the SVID never outlives the signing certificate. */
  readonly ttlSeconds?: number;
  /** The workload's own key (KeyObject or SPKI DER); by default sluice generates a P-256 key. */
  readonly publicKey?: KeyObject | Uint8Array;
  /** Passed through to the Workload API's `hint`. */
  readonly hint?: string;
}

export interface X509Svid {
  readonly spiffeId: string;
  /** DER certificates, leaf first, then intermediates (never the bundle's root). */
  readonly certChain: Uint8Array[];
  /** PKCS#8 DER, only when sluice generated the key. */
  readonly privateKey?: Uint8Array;
  /** The leaf's notAfter, ms since the epoch. */
  readonly expiresAt: number;
  readonly hint?: string;
}

export interface JwtSvidRequest {
  readonly spiffeId: string;
  /** JWT-SVID §3.2: required, one or more values (one is strongly recommended, §7.2). */
  readonly audience: string | readonly string[];
  /** Default 5 minutes. */
  readonly ttlSeconds?: number;
  readonly hint?: string;
}

export interface JwtSvid {
  readonly spiffeId: string;
  readonly token: string;
  readonly audience: readonly string[];
  /** ms since the epoch (whole seconds, as in the token). */
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly hint?: string;
}

export interface AuthorityInfo {
  readonly kind: KeyKind;
  readonly id: string;
  readonly state: KeyState;
  readonly createdAt: number;
  readonly notAfter: number;
  readonly activatedAt?: number;
  /** `operator` for a configured intermediate (not rotated by sluice). */
  readonly source: "sluice" | "operator";
}

export interface TrustDomainCA {
  readonly trustDomain: string;
  readonly mode: "self-signed" | "intermediate";
  /** This trust domain's bundle and the federated ones; subscribe with `onBundleChange`. */
  readonly bundles: BundleSet;
  /** This trust domain's current bundle. */
  bundle(): TrustBundle;
  issueX509Svid(request: X509SvidRequest): X509Svid;
  issueJwtSvid(request: JwtSvidRequest): JwtSvid;
  /**
   * Start a rotation now: publish a successor (X.509 unless an operator intermediate is in use,
   * and JWT), active after the prepare period — or at once with `immediate`. Old keys stay in
   * the bundle until they expire.
   */
  rotateNow(options?: { immediate?: boolean }): void;
  /** Run the rotation schedule now (a timer does it otherwise); true when the bundle changed. */
  tick(): boolean;
  authorities(): AuthorityInfo[];
  /** Stops the rotation timer; issuing afterwards throws. */
  close(): void;
}
