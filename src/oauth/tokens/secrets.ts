/** Opaque secrets (codes, refresh tokens): 256 random bits; only their SHA-256 is ever stored. */
import { createHash, randomBytes } from "node:crypto";

export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString("base64url")}`;
}

export function newId(): string {
  return randomBytes(16).toString("base64url");
}

/** The key under which a secret's record is stored. */
export function secretHash(secret: string): string {
  return createHash("sha256").update(secret).digest("base64url");
}

/** For audit records and logs: enough to correlate, useless to an attacker. */
export function hashPrefix(secret: string): string {
  return secretHash(secret).slice(0, 12);
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
