/**
 * The "credentials" admin area (`sluice credentials revoke`): inside serve it runs through
 * `Broker.revokeCredentials` so the broker's in-memory state stays right; with serve stopped, on
 * the store (`revokeStoredCredentials`).
 */
import { AdminError, requestObject, stringField, unknownOperation, type AdminArea } from "../admin/index.ts";
import type { RevokedCredential } from "./admin.ts";

export type CredentialsAdminRequest = { op: "revoke"; source: string; user?: string };

const SPIFFE_ID = /^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$/;

/** True for a SPIFFE ID usable as `--user` (the vault's user key). */
export function isSpiffeId(value: string): boolean {
  return value.length <= 2048 && SPIFFE_ID.test(value);
}

export function credentialsAdminArea(revoke: (source: string, user?: string) => Promise<RevokedCredential[]>): AdminArea<CredentialsAdminRequest> {
  return {
    name: "credentials",
    parse(value) {
      const v = requestObject(value);
      if (v.op !== "revoke") throw unknownOperation(v.op);
      const source = stringField(v, "source");
      if (v.user === undefined) return { op: "revoke", source };
      const user = stringField(v, "user", 2048);
      if (!isSpiffeId(user)) throw new AdminError("ERR_ADMIN_REQUEST", `"user" must be a SPIFFE ID (spiffe://trust-domain/path)`);
      return { op: "revoke", source, user };
    },
    run: (request) => revoke(request.source, request.user),
  };
}
