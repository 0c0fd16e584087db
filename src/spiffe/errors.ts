/**
 * Errors of the SPIFFE module (jose style): a class per kind of failure with a stable `code`, and
 * for hostile or malformed input a `rule` naming the spec requirement that failed. Caller mistakes
 * (bad options, an ID outside the trust domain) are `TypeError`s.
 */
import { SluiceError } from "../errors/index.ts";

/** Which X.509-SVID rule a certificate chain broke. */
export type X509SvidRule =
  | "malformed"
  | "chain-empty"
  | "chain-too-long"
  | "unknown-critical-extension"
  | "uri-san-missing"
  | "uri-san-multiple"
  | "san-not-critical"
  | "spiffe-id"
  | "spiffe-id-root-path"
  | "leaf-is-ca"
  | "key-usage-missing"
  | "key-usage-not-critical"
  | "digital-signature-missing"
  | "leaf-key-cert-sign"
  | "leaf-crl-sign"
  | "extended-key-usage"
  | "not-yet-valid"
  | "expired"
  | "no-bundle"
  | "no-x509-authorities"
  | "unknown-authority"
  | "signature"
  | "signature-algorithm"
  | "signing-cert-not-ca"
  | "signing-cert-key-usage"
  | "path-length"
  | "name-constraints";

/** Which JWT-SVID rule a token broke. */
export type JwtSvidRule =
  | "malformed"
  | "too-large"
  | "header-parameter"
  | "alg"
  | "typ"
  | "kid-missing"
  | "kid-unknown"
  | "key-alg-mismatch"
  | "signature"
  | "sub"
  | "no-bundle"
  | "no-jwt-authorities"
  | "aud-missing"
  | "aud-mismatch"
  | "exp-missing"
  | "expired"
  | "not-yet-valid"
  | "claim-type";

export type SvidKind = "x509" | "jwt";

/** An SVID failed validation. `code` says which kind, `rule` which requirement. */
export class SvidError extends SluiceError {
  readonly kind: SvidKind;
  readonly rule: X509SvidRule | JwtSvidRule;
  /** X.509 only: index in the presented chain (0 = leaf) of the certificate at fault, when known. */
  readonly certIndex: number | undefined;

  constructor(kind: "x509", rule: X509SvidRule, message: string, options?: { certIndex?: number; cause?: unknown });
  constructor(kind: "jwt", rule: JwtSvidRule, message: string, options?: { cause?: unknown });
  constructor(kind: SvidKind, rule: X509SvidRule | JwtSvidRule, message: string, options: { certIndex?: number; cause?: unknown } = {}) {
    super(kind === "x509" ? "ERR_X509_SVID_INVALID" : "ERR_JWT_SVID_INVALID", message, { cause: options.cause });
    this.kind = kind;
    this.rule = rule;
    this.certIndex = options.certIndex;
  }
}

export type BundleRule = "json" | "too-large" | "not-object" | "keys" | "sequence" | "refresh-hint" | "key" | "x5c" | "kid" | "private-key" | "trust-domain";

/** A SPIFFE bundle document could not be used. */
export class BundleError extends SluiceError {
  readonly rule: BundleRule;
  constructor(rule: BundleRule, message: string, options?: { cause?: unknown }) {
    super("ERR_SPIFFE_BUNDLE", message, options);
    this.rule = rule;
  }
}

export type CaErrorCode =
  | "ERR_CA_KEY_UNREADABLE"
  | "ERR_CA_STATE"
  | "ERR_CA_INTERMEDIATE"
  | "ERR_CA_CLOSED";

/** The trust domain's CA cannot start or cannot issue. */
export class CaError extends SluiceError {
  constructor(code: CaErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A federated bundle could not be fetched or read (the last good one stays in use). */
export class FederationError extends SluiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_FEDERATION", message, options);
  }
}

/** Malformed DER; callers turn it into the error of what they were parsing. */
export class DerError extends SluiceError {
  constructor(message: string) {
    super("ERR_DER", message);
  }
}
