/** JWKs of sluice's own keys: public export and RFC 7638 thumbprints (used as `kid`). */
import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import type { JsonWebKey } from "../bundle/types.ts";

export function publicJwk(key: KeyObject): JsonWebKey {
  return (key.type === "private" ? createPublicKey(key) : key).export({ format: "jwk" });
}

/** RFC 7638 §3.2: the required members, lexicographically ordered, no whitespace; SHA-256, base64url. */
export function jwkThumbprint(jwk: JsonWebKey): string {
  const required: Record<string, string[]> = { EC: ["crv", "kty", "x", "y"], RSA: ["e", "kty", "n"], OKP: ["crv", "kty", "x"] };
  const members = required[jwk.kty ?? ""];
  if (!members) throw new TypeError(`cannot compute a thumbprint for kty ${jwk.kty}`);
  const canonical = `{${members.map((m) => `${JSON.stringify(m)}:${JSON.stringify((jwk as Record<string, unknown>)[m])}`).join(",")}}`;
  return createHash("sha256").update(canonical).digest("base64url");
}
