/**
 * The Workload API messages (./workload.proto), encoded and decoded by hand: field numbers and
 * types follow the proto exactly; names are camelCase here. Both directions exist for every
 * message so the server, sluice's own client and the tests share one codec.
 */
import { decodeStruct, encodeStruct, type JsonLike } from "./struct.ts";
import { ProtoWriter, decodeBytes, decodeString, expectLen, readFields, readMapEntry } from "./wire.ts";

export interface X509SvidMessage {
  spiffeId: string;
  /** Concatenated DER certificates, leaf first. */
  x509Svid: Uint8Array;
  /** PKCS#8 DER, unencrypted. */
  x509SvidKey: Uint8Array;
  /** Concatenated DER certificates of the SVID's trust domain. */
  bundle: Uint8Array;
  hint: string;
}

export interface X509SvidResponse {
  svids: X509SvidMessage[];
  crl: Uint8Array[];
  /** Keyed by the trust domain's SPIFFE ID (`spiffe://example.org`). */
  federatedBundles: Map<string, Uint8Array>;
}

export interface X509BundlesResponse {
  crl: Uint8Array[];
  bundles: Map<string, Uint8Array>;
}

export interface JwtSvidRequest {
  audience: string[];
  spiffeId: string;
}

export interface JwtSvidMessage {
  spiffeId: string;
  svid: string;
  hint: string;
}

export interface JwtSvidResponse {
  svids: JwtSvidMessage[];
}

export interface JwtBundlesResponse {
  /** JWKS JSON bytes keyed by the trust domain's SPIFFE ID. */
  bundles: Map<string, Uint8Array>;
}

export interface ValidateJwtSvidRequest {
  audience: string;
  svid: string;
}

export interface ValidateJwtSvidResponse {
  spiffeId: string;
  claims: Record<string, JsonLike>;
}

// ---------------------------------------------------------------- helpers

function writeBytesMap(w: ProtoWriter, field: number, map: Map<string, Uint8Array>): void {
  for (const key of [...map.keys()].sort()) {
    w.message(field, (e) => e.string(1, key).bytes(2, map.get(key)!));
  }
}

function readBytesMapEntry(buf: Uint8Array, name: string, into: Map<string, Uint8Array>): void {
  const { key, value } = readMapEntry(buf, name);
  into.set(key, value === undefined ? new Uint8Array(0) : decodeBytes(value, `${name} value`));
}

/** Empty request messages: the bytes must still parse (unknown fields are allowed, garbage is not). */
export function decodeEmpty(buf: Uint8Array): Record<string, never> {
  for (const _ of readFields(buf));
  return {};
}

export const encodeEmpty = (): Uint8Array => new Uint8Array(0);

// ---------------------------------------------------------------- X.509

export function encodeX509SvidResponse(m: X509SvidResponse): Uint8Array {
  const w = new ProtoWriter();
  for (const s of m.svids) {
    w.message(1, (x) =>
      x.optionalString(1, s.spiffeId).optionalBytes(2, s.x509Svid).optionalBytes(3, s.x509SvidKey).optionalBytes(4, s.bundle).optionalString(5, s.hint),
    );
  }
  for (const c of m.crl) w.bytes(2, c);
  writeBytesMap(w, 3, m.federatedBundles);
  return w.finish();
}

export function decodeX509SvidResponse(buf: Uint8Array): X509SvidResponse {
  const out: X509SvidResponse = { svids: [], crl: [], federatedBundles: new Map() };
  for (const f of readFields(buf)) {
    if (f.field === 1) {
      const s: X509SvidMessage = { spiffeId: "", x509Svid: new Uint8Array(0), x509SvidKey: new Uint8Array(0), bundle: new Uint8Array(0), hint: "" };
      for (const g of readFields(expectLen(f, "X509SVIDResponse.svids"))) {
        if (g.field === 1) s.spiffeId = decodeString(g, "X509SVID.spiffe_id");
        else if (g.field === 2) s.x509Svid = decodeBytes(g, "X509SVID.x509_svid");
        else if (g.field === 3) s.x509SvidKey = decodeBytes(g, "X509SVID.x509_svid_key");
        else if (g.field === 4) s.bundle = decodeBytes(g, "X509SVID.bundle");
        else if (g.field === 5) s.hint = decodeString(g, "X509SVID.hint");
      }
      out.svids.push(s);
    } else if (f.field === 2) out.crl.push(decodeBytes(f, "X509SVIDResponse.crl"));
    else if (f.field === 3) readBytesMapEntry(expectLen(f, "X509SVIDResponse.federated_bundles"), "federated_bundles", out.federatedBundles);
  }
  return out;
}

export function encodeX509BundlesResponse(m: X509BundlesResponse): Uint8Array {
  const w = new ProtoWriter();
  for (const c of m.crl) w.bytes(1, c);
  writeBytesMap(w, 2, m.bundles);
  return w.finish();
}

export function decodeX509BundlesResponse(buf: Uint8Array): X509BundlesResponse {
  const out: X509BundlesResponse = { crl: [], bundles: new Map() };
  for (const f of readFields(buf)) {
    if (f.field === 1) out.crl.push(decodeBytes(f, "X509BundlesResponse.crl"));
    else if (f.field === 2) readBytesMapEntry(expectLen(f, "X509BundlesResponse.bundles"), "bundles", out.bundles);
  }
  return out;
}

// ---------------------------------------------------------------- JWT

export function encodeJwtSvidRequest(m: JwtSvidRequest): Uint8Array {
  const w = new ProtoWriter();
  for (const a of m.audience) w.string(1, a);
  return w.optionalString(2, m.spiffeId).finish();
}

export function decodeJwtSvidRequest(buf: Uint8Array): JwtSvidRequest {
  const out: JwtSvidRequest = { audience: [], spiffeId: "" };
  for (const f of readFields(buf)) {
    if (f.field === 1) out.audience.push(decodeString(f, "JWTSVIDRequest.audience"));
    else if (f.field === 2) out.spiffeId = decodeString(f, "JWTSVIDRequest.spiffe_id");
  }
  return out;
}

export function encodeJwtSvidResponse(m: JwtSvidResponse): Uint8Array {
  const w = new ProtoWriter();
  for (const s of m.svids) w.message(1, (x) => x.optionalString(1, s.spiffeId).optionalString(2, s.svid).optionalString(3, s.hint));
  return w.finish();
}

export function decodeJwtSvidResponse(buf: Uint8Array): JwtSvidResponse {
  const out: JwtSvidResponse = { svids: [] };
  for (const f of readFields(buf)) {
    if (f.field !== 1) continue;
    const s: JwtSvidMessage = { spiffeId: "", svid: "", hint: "" };
    for (const g of readFields(expectLen(f, "JWTSVIDResponse.svids"))) {
      if (g.field === 1) s.spiffeId = decodeString(g, "JWTSVID.spiffe_id");
      else if (g.field === 2) s.svid = decodeString(g, "JWTSVID.svid");
      else if (g.field === 3) s.hint = decodeString(g, "JWTSVID.hint");
    }
    out.svids.push(s);
  }
  return out;
}

export function encodeJwtBundlesResponse(m: JwtBundlesResponse): Uint8Array {
  const w = new ProtoWriter();
  writeBytesMap(w, 1, m.bundles);
  return w.finish();
}

export function decodeJwtBundlesResponse(buf: Uint8Array): JwtBundlesResponse {
  const out: JwtBundlesResponse = { bundles: new Map() };
  for (const f of readFields(buf)) {
    if (f.field === 1) readBytesMapEntry(expectLen(f, "JWTBundlesResponse.bundles"), "bundles", out.bundles);
  }
  return out;
}

export function encodeValidateJwtSvidRequest(m: ValidateJwtSvidRequest): Uint8Array {
  return new ProtoWriter().optionalString(1, m.audience).optionalString(2, m.svid).finish();
}

export function decodeValidateJwtSvidRequest(buf: Uint8Array): ValidateJwtSvidRequest {
  const out: ValidateJwtSvidRequest = { audience: "", svid: "" };
  for (const f of readFields(buf)) {
    if (f.field === 1) out.audience = decodeString(f, "ValidateJWTSVIDRequest.audience");
    else if (f.field === 2) out.svid = decodeString(f, "ValidateJWTSVIDRequest.svid");
  }
  return out;
}

/** `claims` may hold any JSON-like values (numbers, arrays, nested objects) from a verified JWT payload. */
export function encodeValidateJwtSvidResponse(m: { spiffeId: string; claims: Record<string, unknown> }): Uint8Array {
  const w = new ProtoWriter().optionalString(1, m.spiffeId);
  // Always present (possibly empty): claims is a mandatory field (spec §6.2.3).
  w.message(2, (s) => encodeStruct(s, m.claims));
  return w.finish();
}

export function decodeValidateJwtSvidResponse(buf: Uint8Array): ValidateJwtSvidResponse {
  const out: ValidateJwtSvidResponse = { spiffeId: "", claims: {} };
  for (const f of readFields(buf)) {
    if (f.field === 1) out.spiffeId = decodeString(f, "ValidateJWTSVIDResponse.spiffe_id");
    else if (f.field === 2) out.claims = decodeStruct(expectLen(f, "ValidateJWTSVIDResponse.claims"));
  }
  return out;
}
