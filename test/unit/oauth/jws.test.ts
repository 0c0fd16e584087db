/** The AS's own compact JWS signing (node:crypto) against jose's verification and jose's own signing. */
import { describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { compactVerify, decodeProtectedHeader, jwtVerify, SignJWT } from "jose";
import { signCompactJws } from "../../../src/oauth/tokens/jws.ts";

const claims = { iss: "https://as.example", sub: "spiffe://example.org/agent", aud: "https://mcp.example/mcp", client_id: "c", iat: 1_900_000_000, exp: 1_900_000_300, jti: "j", act: { sub: "spiffe://example.org/user/alice" } };

describe("signCompactJws", () => {
  for (const alg of ["ES256", "RS256"] as const) {
    test(`${alg}: jose verifies it, and it has the same header and payload bytes jose's SignJWT makes`, async () => {
      const { privateKey, publicKey } = alg === "ES256" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("rsa", { modulusLength: 2048 });
      const token = signCompactJws({ alg, kid: "k1", typ: "at+jwt" }, claims, privateKey);
      const { payload, protectedHeader } = await jwtVerify(token, publicKey, { algorithms: [alg], typ: "at+jwt", currentDate: new Date(1_900_000_100_000) });
      expect(protectedHeader).toEqual({ alg, kid: "k1", typ: "at+jwt" });
      expect(payload).toEqual(claims);
      const joseToken = await new SignJWT(claims).setProtectedHeader({ alg, kid: "k1", typ: "at+jwt" }).sign(privateKey);
      expect(token.split(".").slice(0, 2)).toEqual(joseToken.split(".").slice(0, 2));
      if (alg === "ES256") expect(Buffer.from(token.split(".")[2]!, "base64url")).toHaveLength(64); // R || S, not DER (RFC 7518 §3.4)
    });
  }

  test("a signature from another key, or a changed payload, does not verify", async () => {
    const a = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const b = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const token = signCompactJws({ alg: "ES256", kid: "k", typ: "JWT" }, claims, a.privateKey);
    await expect(compactVerify(token, b.publicKey)).rejects.toThrow();
    const [h, , s] = token.split(".");
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: "spiffe://example.org/other" })).toString("base64url")}.${s}`;
    await expect(compactVerify(forged, a.publicKey)).rejects.toThrow();
    expect(decodeProtectedHeader(token).typ).toBe("JWT");
  });
});
