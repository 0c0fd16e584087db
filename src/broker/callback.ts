/**
 * `GET /oauth2/upstream/callback`: where the upstream AS sends the browser back. Checks `state`
 * (single use, bound to the pending authorization), that the browser holds the sluice session of
 * the pending authorization's user, and `iss` (RFC 9207); exchanges the code, stores the tokens,
 * then finishes the agent's authorization through the AuthorizationResumer — or ends it with an error.
 */
import type { Elysia } from "elysia";
import type { AuthorizationResumer } from "../oauth/types.ts";
import type { RouteModule } from "../server/http.ts";
import { BrokerError } from "./errors.ts";
import type { UpstreamFlow } from "./flows.ts";
import { nextUpstreamNeed, startUpstream, type StepDeps } from "./step.ts";

export const UPSTREAM_CALLBACK_PATH = "/oauth2/upstream/callback";
const MAX_PARAM_CHARS = 4096;

export interface CallbackDeps extends StepDeps {
  readonly resumer: () => AuthorizationResumer | undefined;
}

export function upstreamCallbackRoutes(d: CallbackDeps): RouteModule {
  return {
    name: "broker-upstream-callback",
    mount(app: Elysia) {
      app.get(UPSTREAM_CALLBACK_PATH, ({ request }) => handleUpstreamCallback(d, request));
    },
  };
}

export async function handleUpstreamCallback(d: CallbackDeps, request: Request): Promise<Response> {
  const q = new URL(request.url).searchParams;
  for (const [k, v] of q) if (k.length > 64 || v.length > MAX_PARAM_CHARS) return page(400, "Malformed upstream response", "A parameter of the upstream authorization response is too long.");
  // RFC 6749 §3.1: parameters MUST NOT appear more than once.
  for (const k of ["state", "code", "iss", "error"]) if (q.getAll(k).length > 1) return page(400, "Malformed upstream response", `The upstream authorization response repeats the ${k} parameter.`);
  const state = q.get("state");
  const flow = state ? d.flows.take(state) : undefined;
  if (!flow) {
    d.audit.append({ kind: "broker.upstream_callback", decision: "deny", details: { reason: state ? "unknown, used or expired state" : "no state" } });
    return page(400, "Unknown or expired authorization", "This upstream authorization response does not belong to an authorization in progress (it was already used, it expired, or sluice restarted). Start again from your agent.");
  }
  const resumer = d.resumer();
  if (!resumer) return page(503, "Not ready", "sluice's authorization server is not ready yet; try again in a moment.");
  const refused = await refuseForeignBrowser(d, resumer, flow, request);
  if (refused) return refused;
  const fail = async (error: "access_denied" | "server_error" | "temporarily_unavailable", description: string, reason: string) => {
    d.audit.append({ kind: "broker.upstream_callback", decision: "deny", subject: flow.workload, details: detailsOf(flow, { reason }) });
    return resumer.fail(flow.pendingId, error, description);
  };

  // RFC 9207 §2.4: when the AS advertises `iss`, it MUST be present and equal its issuer; a present `iss` is always compared.
  const iss = q.get("iss");
  if (flow.server.issuer !== undefined && (iss !== null || flow.server.issParameterSupported) && iss !== flow.server.issuer) {
    return fail("access_denied", `the upstream authorization response came from the wrong issuer (iss ${iss ?? "missing"}, expected ${flow.server.issuer})`, "iss mismatch (RFC 9207)");
  }
  const error = q.get("error");
  if (error !== null) {
    const desc = (q.get("error_description") ?? "").slice(0, 200);
    const mapped = error === "access_denied" ? "access_denied" : error === "temporarily_unavailable" ? "temporarily_unavailable" : "server_error";
    return fail(mapped, `the upstream authorization server of ${flow.service} answered ${error.slice(0, 64)}${desc ? `: ${desc}` : ""}`, `upstream error ${error.slice(0, 64)}`);
  }
  const code = q.get("code");
  if (!code) return fail("server_error", "the upstream authorization response carries no code", "no code");

  try {
    await d.authCode.complete(flow, code);
  } catch (err) {
    d.logger.warn("upstream code exchange failed", { source: flow.source, error: err });
    const transient = err instanceof BrokerError && err.code === "ERR_BROKER_UPSTREAM_UNAVAILABLE";
    return fail(transient ? "temporarily_unavailable" : "server_error", `exchanging the upstream code failed: ${err instanceof BrokerError ? err.message : "internal error"}`, "code exchange failed");
  }
  d.audit.append({ kind: "broker.upstream_authorized", decision: "allow", subject: flow.workload, details: detailsOf(flow, {}) });

  // Several resources may each need their own upstream authorization: do the next before resuming.
  const pending = resumer.pending(flow.pendingId);
  if (pending) {
    const next = nextUpstreamNeed(d, pending);
    if (next.kind === "deny") return resumer.fail(flow.pendingId, "access_denied", next.description);
    if (next.kind === "authorize") {
      const outcome = await startUpstream(d, pending, next.need);
      if (outcome.kind === "redirect") return new Response(null, { status: 303, headers: { location: outcome.location, "cache-control": "no-store" } });
      if (outcome.kind === "deny") return resumer.fail(flow.pendingId, outcome.error, outcome.description);
    }
  }
  return resumer.resume(flow.pendingId);
}

/**
 * RFC 9700 §2.1 / §4.7: the authorization response must be bound to the user agent that started
 * the flow. `state` alone is not: an attacker could start a flow as themselves and have a victim
 * finish the upstream login with the attacker's `state`, storing the victim's upstream tokens as
 * the attacker's credential. So the browser must hold the sluice session of the pending
 * authorization's user (the session cookie is SameSite=Lax: sent on the upstream's top-level GET
 * redirect). Otherwise: no code exchange, the pending authorization fails, and this browser gets
 * an error page (not the client's redirect, which belongs to the other user).
 */
async function refuseForeignBrowser(d: CallbackDeps, resumer: AuthorizationResumer, flow: UpstreamFlow, request: Request): Promise<Response | undefined> {
  const pending = resumer.pending(flow.pendingId);
  const holder = resumer.sessionUser(request);
  if (pending && holder && holder.name === pending.user.name) return undefined;
  d.audit.append({
    kind: "broker.callback_refused",
    decision: "deny",
    subject: flow.workload,
    // browserUser: the sluice user whose session the browser holds ("session…" keys are redacted in audit).
    details: detailsOf(flow, {
      pendingUser: pending?.user.name ?? null,
      browserUser: holder?.name ?? null,
      reason: !pending ? "the pending authorization is gone" : holder ? "the browser is signed in to sluice as another user" : "the browser has no sluice session",
    }),
  });
  await resumer.fail(flow.pendingId, "access_denied", "the upstream authorization finished in a browser that is not signed in to sluice as the user who started it");
  return page(
    403,
    "Upstream authorization refused",
    "This upstream sign-in finished in a browser that is not signed in to sluice as the user who started the authorization, so sluice did not use it. Start again from your agent, in the browser where you are signed in to sluice.",
  );
}

function detailsOf(flow: UpstreamFlow, extra: Record<string, unknown>): Record<string, unknown> {
  return { user: flow.user, service: flow.service, source: flow.source, upstream: flow.server.issuer ?? new URL(flow.server.tokenEndpoint).origin, ...extra };
}

function page(status: number, title: string, text: string): Response {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return new Response(`<!doctype html><meta charset="utf-8"><title>${esc(title)}</title><h1>${esc(title)}</h1><p>${esc(text)}</p>`, {
    status,
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "content-security-policy": "default-src 'none'" },
  });
}
