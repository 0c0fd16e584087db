/**
 * From a validated authorization request and a logged-in user to a code: consent (remembered per
 * client, user, resources and scopes), then each `AuthorizationStep` in order (the broker's
 * upstream flow plugs in here), then `AuthorizationCodes.issue`. A step that redirects the browser
 * away leaves a `PendingAuthorization` in LMDB; `resume(id)` picks it up at the next step, once the
 * step's callback has checked with `sessionUser(request)` that the browser is the user's.
 */
import type { AuditLog } from "../../audit/index.ts";
import type { Logger } from "../../log/index.ts";
import type { Store } from "../../store/index.ts";
import type { AuthorizationCodes, AuthorizationResumer, AuthorizationStep, CodeGrant, PendingAuthorization, UserRecord } from "../../oauth/types.ts";
import type { Consents } from "../consents.ts";
import { pendingDb, type AccountRecord, type PendingRecord } from "../db.ts";
import { toUserRecord } from "../accounts.ts";
import { nowSeconds, randomToken } from "../secrets.ts";
import { consentPage, errorPage } from "../pages/views.ts";
import type { AuthorizationRequest } from "./request.ts";
import { authorizationResponse, authorizationResponseUrl } from "./respond.ts";

/** Long enough for an upstream login and consent in between. */
export const PENDING_TTL_SECONDS = 600;
const MAX_PENDING = 10_000;

export interface FlowDeps {
  readonly issuer: string;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly logger: Logger;
  readonly codes: AuthorizationCodes;
  readonly consents: Consents;
  /** Read at each run, so a step built after this flow (the broker's, which needs the resumer) can be added. */
  readonly steps: () => readonly AuthorizationStep[];
  /** The user of the request's live login session (`Web.sessionUser`). */
  readonly sessionUser: (request: Request) => UserRecord | undefined;
}

export type StepError = "access_denied" | "server_error" | "temporarily_unavailable";

/**
 * Token `sub` / `act` for the code (DESIGN §2 step 7): a client bound to one exact SPIFFE ID acts
 * as that workload for the user. A `/*` prefix binding names no single workload, and the browser
 * request proves none, so the token is the user's own (no actor). Unbound clients: the user.
 */
export function codeSubject(clientSpiffeId: string | undefined, userSpiffeId: string): { subject: string; actor?: string } {
  if (clientSpiffeId && !clientSpiffeId.endsWith("/*")) return { subject: clientSpiffeId, actor: userSpiffeId };
  return { subject: userSpiffeId };
}

export class AuthorizationFlow implements AuthorizationResumer {
  readonly #pending;
  constructor(private readonly deps: FlowDeps) {
    this.#pending = deps.store.db(pendingDb);
  }

  /** After login: skip the consent page when an identical consent is remembered. */
  async start(request: AuthorizationRequest, user: AccountRecord, authTime: number, csrf: (pendingId: string) => string): Promise<Response> {
    const remembered = this.deps.consents.has(user.name, request.client.clientId, request.resources, request.scopes);
    if (!remembered && request.promptNone) return this.#errorRedirect(request.redirectUri, request.state, "consent_required", "the user has not consented to this client, resource and scopes yet");
    const record = await this.#create(request, user, authTime, remembered ? "steps" : "consent");
    if (!record) return this.#errorRedirect(request.redirectUri, request.state, "temporarily_unavailable", "too many authorizations in progress; try again shortly");
    if (remembered) {
      this.deps.audit.append({ kind: "authorize.consent", decision: "allow", subject: user.spiffeId, details: { clientId: request.client.clientId, resources: [...request.resources], scopes: [...request.scopes], remembered: true } });
      return this.#run(record);
    }
    const p = toPending(record);
    return consentPage({ csrf: csrf(record.id), pendingId: record.id, client: p.client, user: p.user, ...(p.workload ? { workload: p.workload } : {}), resources: p.resources, scopes: p.scopes, redirectUri: p.redirectUri });
  }

  /** The consent form's answer; only the user the request belongs to can give it. */
  async answer(pendingId: string, user: string, decision: "allow" | "deny", remember: boolean): Promise<Response> {
    const record = this.#take(pendingId, (r) => r.stage === "consent" && r.user.name === user);
    if (!record) return expiredPage();
    const details = { clientId: record.client.clientId, resources: [...record.resources], scopes: [...record.scopes] };
    if (decision === "deny") {
      this.deps.audit.append({ kind: "authorize.consent", decision: "deny", subject: record.user.spiffeId, details });
      return this.#errorRedirect(record.redirectUri, record.state, "access_denied", "the user denied the request");
    }
    if (remember) await this.deps.consents.remember(user, record.client.clientId, record.resources, record.scopes);
    this.deps.audit.append({ kind: "authorize.consent", decision: "allow", subject: record.user.spiffeId, details: { ...details, remembered: remember } });
    return this.#run({ ...record, stage: "steps" });
  }

  pending(id: string): PendingAuthorization | undefined {
    const record = this.#pending.get(id);
    return record && record.expiresAt > nowSeconds() ? toPending(record) : undefined;
  }

  async resume(id: string): Promise<Response> {
    const record = this.#take(id, (r) => r.stage === "steps");
    if (!record) return expiredPage();
    return this.#run(record);
  }

  async fail(id: string, error: StepError, description: string): Promise<Response> {
    const record = this.#take(id, () => true);
    if (!record) return expiredPage();
    this.deps.audit.append({ kind: "authorize.fail", decision: "deny", subject: record.user.spiffeId, details: { clientId: record.client.clientId, error, description } });
    return this.#stepDenied(record, error, description);
  }

  sessionUser(request: Request): UserRecord | undefined {
    return this.deps.sessionUser(request);
  }

  sweep(): number {
    const now = nowSeconds();
    let n = 0;
    for (const { key, value } of this.#pending.getRange()) if (value.expiresAt <= now) void this.#pending.remove(key), n++;
    return n;
  }

  /** Runs the steps from `nextStep`; the record is not in the store while this runs (taken). */
  async #run(record: PendingRecord): Promise<Response> {
    const steps = this.deps.steps();
    for (let i = record.nextStep; i < steps.length; i++) {
      const step = steps[i]!;
      let outcome;
      try {
        outcome = await step.beforeCode(toPending(record));
      } catch (err) {
        this.deps.logger.error("authorization step failed", { step: step.name, error: err });
        outcome = { kind: "deny", error: "server_error", description: `the ${step.name} step failed; see the sluice log` } as const;
      }
      if (outcome.kind === "proceed") continue;
      if (outcome.kind === "redirect") {
        await this.#pending.put(record.id, { ...record, stage: "steps", nextStep: i + 1 });
        return new Response(null, { status: 303, headers: { location: outcome.location, "cache-control": "no-store" } });
      }
      this.deps.audit.append({ kind: "authorize.step", decision: "deny", subject: record.user.spiffeId, details: { step: step.name, clientId: record.client.clientId, error: outcome.error, description: outcome.description } });
      return this.#stepDenied(record, outcome.error, outcome.description);
    }
    return this.#issue(record);
  }

  async #issue(record: PendingRecord): Promise<Response> {
    const { subject, actor } = codeSubject(record.client.spiffeId, record.user.spiffeId);
    const grant: CodeGrant = {
      clientId: record.client.clientId,
      redirectUri: record.redirectUri,
      codeChallenge: record.codeChallenge,
      scopes: record.scopes,
      resources: record.resources,
      subject,
      ...(actor ? { actor } : {}),
      user: { name: record.user.name, spiffeId: record.user.spiffeId },
      authTime: record.authTime,
      ...(record.nonce !== undefined ? { nonce: record.nonce } : {}),
    };
    let code: string;
    try {
      code = await this.deps.codes.issue(grant);
    } catch (err) {
      this.deps.logger.error("issuing an authorization code failed", { clientId: record.client.clientId, error: err });
      return this.#errorRedirect(record.redirectUri, record.state, "server_error", "the authorization code could not be issued; see the sluice log");
    }
    this.deps.audit.append({ kind: "authorize.code", decision: "allow", subject, details: { clientId: record.client.clientId, user: record.user.spiffeId, resources: [...record.resources], scopes: [...record.scopes] } });
    return authorizationResponse(record.redirectUri, this.deps.issuer, { code, state: record.state });
  }

  /** A step said no: an error page telling the user why, which sends the error on to the client (RFC 6749 §4.1.2.1). */
  #stepDenied(record: PendingRecord, error: StepError, description: string): Response {
    const location = authorizationResponseUrl(record.redirectUri, this.deps.issuer, { error, error_description: description, state: record.state });
    return errorPage({ title: "Access not granted", message: description, status: 403, returnTo: location });
  }

  #errorRedirect(redirectUri: string, state: string | undefined, error: string, description: string): Response {
    return authorizationResponse(redirectUri, this.deps.issuer, { error, error_description: description, state });
  }

  async #create(request: AuthorizationRequest, user: AccountRecord, authTime: number, stage: PendingRecord["stage"]): Promise<PendingRecord | undefined> {
    if (this.#pending.count() >= MAX_PENDING && this.sweep() === 0) return undefined;
    const record: PendingRecord = {
      id: randomToken(32),
      client: request.client,
      user: { name: user.name, spiffeId: user.spiffeId, admin: user.admin, ...(user.displayName ? { displayName: user.displayName } : {}) },
      ...(request.client.spiffeId ? { workload: request.client.spiffeId } : {}),
      resources: request.resources,
      scopes: request.scopes,
      redirectUri: request.redirectUri,
      ...(request.state !== undefined ? { state: request.state } : {}),
      ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
      codeChallenge: request.codeChallenge,
      authTime,
      stage,
      nextStep: 0,
      expiresAt: nowSeconds() + PENDING_TTL_SECONDS,
    };
    if (stage === "consent") await this.#pending.put(record.id, record);
    return record;
  }

  /** Atomically removes and returns a live record that passes `accept` (single use: a resume or consent cannot run twice). */
  #take(id: string, accept: (r: PendingRecord) => boolean): PendingRecord | undefined {
    if (typeof id !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    return this.deps.store.transactionSync(() => {
      const record = this.#pending.get(id);
      if (!record || !accept(record)) return undefined;
      this.#pending.removeSync(id);
      return record.expiresAt > nowSeconds() ? record : undefined;
    });
  }
}

function toPending(r: PendingRecord): PendingAuthorization {
  return {
    id: r.id,
    client: r.client,
    user: toUserRecord({ ...r.user, handle: "", createdAt: 0 }),
    ...(r.workload ? { workload: r.workload } : {}),
    resources: r.resources,
    scopes: r.scopes,
    redirectUri: r.redirectUri,
    ...(r.state !== undefined ? { state: r.state } : {}),
    expiresAt: r.expiresAt,
  };
}

function expiredPage(): Response {
  return errorPage({ title: "This sign-in has expired", message: "The authorization request is unknown, was already completed, or took too long. Start again from the application.", status: 400 });
}
