/**
 * /oauth2/authorize (GET and POST, RFC 6749 §3.1) and the consent form's answer. Invalid client or
 * redirect URI → an error page, never a redirect (RFC 6749 §4.1.2.1); every other error → an error
 * response at the redirect URI with `state` and `iss` (RFC 9207 §2).
 */
import type { Elysia } from "elysia";
import type { ClientRegistry, ResourceValidator } from "../../oauth/types.ts";
import type { AuthorizationFlow } from "../authorize/flow.ts";
import { RedirectableError, UnsafeRequestError, validateAuthorizationRequest } from "../authorize/request.ts";
import { authorizationResponse } from "../authorize/respond.ts";
import { BadRequest, PAGE_LIMITS, parseParams, readForm, redirect } from "../http.ts";
import { errorPage } from "../pages/views.ts";
import type { RequestState, Web } from "../web.ts";
import { ipOf } from "./ip.ts";

export interface AuthorizeDeps {
  readonly web: Web;
  readonly issuer: string;
  readonly flow: AuthorizationFlow;
  readonly clients: ClientRegistry;
  readonly resources: ResourceValidator;
}

export function mountAuthorize(app: Elysia, deps: AuthorizeDeps): void {
  const { web, flow } = deps;

  const authorize = async (s: RequestState, params: URLSearchParams): Promise<Response> => {
    let request;
    try {
      request = await validateAuthorizationRequest(params, deps);
    } catch (err) {
      if (err instanceof RedirectableError) return authorizationResponse(err.redirectUri, deps.issuer, { error: err.error, error_description: err.description, state: err.state });
      if (err instanceof UnsafeRequestError) return errorPage({ title: "Invalid authorization request", message: err.description, status: 400 });
      throw err;
    }
    deps.clients.touch(request.client.clientId);
    const account = s.session && web.accounts.account(s.session.record.user);
    if (!s.session || !account) {
      if (request.promptNone) return authorizationResponse(request.redirectUri, deps.issuer, { error: "login_required", error_description: "the user is not signed in to sluice", state: request.state });
      return redirect(`/login?return_to=${encodeURIComponent(`/oauth2/authorize?${params.toString()}`)}`);
    }
    return flow.start(request, account, s.session.record.authTime, () => web.csrfToken(s));
  };

  app.get("/oauth2/authorize", async ({ request, server }) => {
    const s = web.state(request, ipOf(server, request));
    try {
      const url = new URL(request.url);
      if (url.search.length > PAGE_LIMITS.maxQueryBytes) throw new BadRequest(`the authorization request is longer than ${PAGE_LIMITS.maxQueryBytes} bytes`, 414);
      return web.finish(s, await authorize(s, parseParams(url.search.slice(1))));
    } catch (err) {
      return web.failure(s, err);
    }
  });

  // RFC 6749 §3.1: the authorization endpoint MAY support POST; no CSRF token here (it is the client's request), the login and consent steps after it have theirs.
  app.post(
    "/oauth2/authorize",
    async ({ request, server }) => {
      const s = web.state(request, ipOf(server, request));
      try {
        return web.finish(s, await authorize(s, await readForm(request, PAGE_LIMITS.maxQueryBytes)));
      } catch (err) {
        return web.failure(s, err);
      }
    },
    { parse: "none" },
  );

  app.post(
    "/oauth2/authorize/consent",
    async ({ request, server }) => {
      const s = web.state(request, ipOf(server, request));
      try {
        const form = await readForm(request);
        web.checkCsrf(s, form);
        if (!s.session) throw new BadRequest("your session ended before you answered; start again from the application", 401);
        const decision = form.get("decision");
        if (decision !== "allow" && decision !== "deny") throw new BadRequest("decision must be allow or deny");
        return web.finish(s, await flow.answer(form.get("pending") ?? "", s.session.record.user, decision, form.get("remember") === "1"));
      } catch (err) {
        return web.failure(s, err);
      }
    },
    { parse: "none" },
  );
}
