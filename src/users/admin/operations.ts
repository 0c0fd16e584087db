/**
 * What `sluice user …` can do, as one function per operation over the store, and the "users"
 * AdminArea that offers them. The CLI runs these directly when it can open the store, or asks the
 * running `sluice serve` to run them over its admin socket (src/admin) when serve holds the
 * store's lock: one code path either way.
 */
import { requestObject, stringField, unknownOperation, type AdminArea } from "../../admin/index.ts";
import type { AuditLog } from "../../audit/index.ts";
import type { TokenRevoker } from "../../oauth/types.ts";
import type { UserAccounts } from "../accounts.ts";
import type { Consents } from "../consents.ts";
import type { Enrollments } from "../enrollments.ts";
import { UserError, validateUserName } from "../names.ts";

export interface UserSummary {
  name: string;
  spiffeId: string;
  admin: boolean;
  displayName?: string;
  passkeys: number;
  createdAt: string;
}

export interface EnrollmentLink {
  user: string;
  spiffeId: string;
  url: string;
  expiresAt: string;
}

export interface PasskeySummary {
  id: string;
  createdAt: string;
  lastUsedAt: string | null;
  aaguid: string;
  backedUp: boolean;
}

export interface ConsentSummary {
  id: string;
  clientId: string;
  resources: string[];
  scopes: string[];
  grantedAt: string;
}

export type AdminRequest =
  | { op: "add"; name: string; admin?: boolean; displayName?: string }
  | { op: "enroll"; name: string }
  | { op: "list" }
  | { op: "rm"; name: string }
  | { op: "passkeys"; name: string }
  | { op: "passkey-rm"; name: string; id: string }
  | { op: "consents"; name: string }
  | { op: "consent-rm"; name: string; id: string };

export interface AdminDeps {
  readonly issuer: string;
  readonly accounts: UserAccounts;
  readonly enrollments: Enrollments;
  readonly consents: Consents;
  readonly audit: AuditLog;
  /** Revokes the tokens issued for a removed user (the token side's, or one on the store when serve is stopped). */
  readonly revoker: TokenRevoker;
}

const iso = (s: number) => new Date(s * 1000).toISOString();

export class UserAdmin {
  constructor(private readonly deps: AdminDeps) {}

  /** Runs one request; throws UserError with a clear message on bad input. */
  run(request: AdminRequest): unknown | Promise<unknown> {
    switch (request.op) {
      case "add":
        return this.add(request.name, request.admin ?? false, request.displayName);
      case "enroll":
        return this.enroll(request.name);
      case "list":
        return this.list();
      case "rm":
        return this.remove(request.name);
      case "passkeys":
        return this.passkeys(request.name);
      case "passkey-rm":
        return this.removePasskey(request.name, request.id);
      case "consents":
        return this.consents(request.name);
      case "consent-rm":
        return this.removeConsent(request.name, request.id);
      default:
        throw unknownOperation((request as { op: unknown }).op);
    }
  }

  add(name: string, admin: boolean, displayName?: string): EnrollmentLink {
    const account = this.deps.accounts.add(name, { admin, ...(displayName ? { displayName } : {}) });
    this.deps.audit.append({ kind: "user.add", decision: "info", subject: account.spiffeId, details: { admin } });
    return this.enroll(name);
  }

  enroll(name: string): EnrollmentLink {
    const account = this.#account(name);
    const { token, expiresAt } = this.deps.enrollments.create(name);
    this.deps.audit.append({ kind: "user.enrollment.create", decision: "info", subject: account.spiffeId, details: { expiresAt: iso(expiresAt) } });
    return { user: name, spiffeId: account.spiffeId, url: `${this.deps.issuer.replace(/\/$/, "")}/enroll/${token}`, expiresAt: iso(expiresAt) };
  }

  list(): UserSummary[] {
    return this.deps.accounts.list().map((a) => ({
      name: a.name,
      spiffeId: a.spiffeId,
      admin: a.admin,
      ...(a.displayName ? { displayName: a.displayName } : {}),
      passkeys: this.deps.accounts.passkeys(a.name).length,
      createdAt: iso(a.createdAt),
    }));
  }

  /**
   * Removes the account (no new login or authorization can start), then revokes every token issued
   * for it: refresh families, codes, and access tokens until they expire. A code issued in between
   * is covered too (the token side refuses what was issued before the revocation).
   */
  async remove(name: string): Promise<{ removed: string; revokedFamilies: number }> {
    const account = this.#account(name);
    this.deps.accounts.remove(name);
    this.deps.audit.append({ kind: "user.remove", decision: "info", subject: account.spiffeId });
    let revokedFamilies: number;
    try {
      revokedFamilies = await this.deps.revoker.revokeForUser(account.spiffeId);
    } catch (err) {
      this.deps.audit.append({ kind: "oauth.token.revoke", decision: "error", subject: account.spiffeId, details: { reason: "user-removed", error: String((err as Error)?.message ?? err).slice(0, 200) } });
      throw new UserError("ERR_TOKEN_REVOKE_FAILED", `${name} was removed, but revoking the tokens issued for ${account.spiffeId} failed (${(err as Error)?.message ?? err}); they stay valid until they expire`);
    }
    return { removed: name, revokedFamilies };
  }

  passkeys(name: string): PasskeySummary[] {
    this.#account(name);
    return this.deps.accounts.passkeys(name).map((p) => ({ id: p.id, createdAt: iso(p.createdAt), lastUsedAt: p.lastUsedAt ? iso(p.lastUsedAt) : null, aaguid: p.aaguid, backedUp: p.backedUp }));
  }

  removePasskey(name: string, id: string): { removed: string } {
    const account = this.#account(name);
    if (!this.deps.accounts.removePasskey(name, id)) throw new UserError("ERR_PASSKEY_NOT_FOUND", `${name} has no passkey ${id} (see \`sluice user passkeys ${name}\`)`);
    this.deps.audit.append({ kind: "user.passkey.remove", decision: "info", subject: account.spiffeId, details: { passkey: id.slice(0, 16), by: "admin" } });
    return { removed: id };
  }

  consents(name: string): ConsentSummary[] {
    this.#account(name);
    return this.deps.consents.list(name).map((c) => ({ id: c.id, clientId: c.clientId, resources: [...c.resources], scopes: [...c.scopes], grantedAt: iso(c.grantedAt) }));
  }

  /** Removes the consent and revokes the refresh families and codes issued under it. */
  async removeConsent(name: string, id: string): Promise<{ removed: number; revokedFamilies: number }> {
    const account = this.#account(name);
    const { consents: removed, families } = await this.deps.consents.withdraw(account, id);
    if (removed === 0) throw new UserError("ERR_CONSENT_NOT_FOUND", `${name} has no consent ${id} (see \`sluice user consents ${name}\`)`);
    this.deps.audit.append({ kind: "user.consent.revoke", decision: "info", subject: account.spiffeId, details: { by: "admin", count: removed, revoked_families: families } });
    return { removed, revokedFamilies: families };
  }

  #account(name: string) {
    validateUserName(name);
    const account = this.deps.accounts.account(name);
    if (!account) throw new UserError("ERR_USER_NOT_FOUND", `no user ${name} (see \`sluice user list\`)`);
    return account;
  }
}

/** The "users" admin area (`POST /v1/users` on serve's admin socket). */
export function usersAdminArea(admin: UserAdmin): AdminArea<AdminRequest> {
  return { name: "users", parse: parseAdminRequest, run: (request) => admin.run(request) };
}

/** Checks an admin request received as JSON (the socket's input). */
export function parseAdminRequest(value: unknown): AdminRequest {
  const v = requestObject(value);
  const str = (k: string, max = 256): string => stringField(v, k, max);
  switch (v.op) {
    case "list":
      return { op: "list" };
    case "add":
      return { op: "add", name: str("name"), admin: v.admin === true, ...(typeof v.displayName === "string" ? { displayName: v.displayName.slice(0, 256) } : {}) };
    case "enroll":
    case "rm":
    case "passkeys":
    case "consents":
      return { op: v.op, name: str("name") };
    case "passkey-rm":
    case "consent-rm":
      return { op: v.op, name: str("name"), id: str("id", 4096) };
    default:
      throw unknownOperation(v.op);
  }
}
