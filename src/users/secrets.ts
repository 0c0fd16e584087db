import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** 256 random bits, base64url: session ids, enrollment tokens, pending ids. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/** What is stored instead of a token that only needs comparing. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
