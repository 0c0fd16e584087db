/** /login (passkey, discoverable credentials) and /logout. */
import type { Elysia } from "elysia";
import type { AuditLog } from "../../audit/index.ts";
import { jsonResponse, readForm, redirect } from "../http.ts";
import type { Passkeys } from "../passkeys.ts";
import { loginPage, messagePage } from "../pages/views.ts";
import { safeReturnTo, type Web } from "../web.ts";
import { ipOf } from "./ip.ts";

export interface LoginDeps {
  readonly web: Web;
  readonly passkeys: Passkeys | undefined;
  readonly rpProblem: string | undefined;
  readonly audit: AuditLog;
}

export function mountLogin(app: Elysia, { web, passkeys, rpProblem, audit }: LoginDeps): void {
  app.get("/login", ({ request, server }) => {
    const s = web.state(request, ipOf(server, request));
    const returnTo = safeReturnTo(new URL(request.url).searchParams.get("return_to"));
    if (s.session) return web.finish(s, redirect(returnTo));
    return web.finish(s, loginPage({ csrf: web.csrfToken(s), returnTo, ...(rpProblem ? { rpProblem } : {}) }));
  });

  app.post(
    "/login/options",
    async ({ request, server }) => {
      const s = web.state(request, ipOf(server, request));
      try {
        const form = await readForm(request);
        web.checkCsrf(s, form);
        web.rateLimit(s, "login");
        if (!passkeys) return web.failure(s, new Error(rpProblem), true);
        return web.finish(s, jsonResponse(await passkeys.authenticationOptions(s.csrfCookie)));
      } catch (err) {
        return web.failure(s, err, true);
      }
    },
    { parse: "none" },
  );

  app.post(
    "/login",
    async ({ request, server }) => {
      const s = web.state(request, ipOf(server, request));
      try {
        const form = await readForm(request);
        web.checkCsrf(s, form);
        web.rateLimit(s, "login");
        const returnTo = safeReturnTo(form.get("return_to"));
        if (!passkeys) return web.finish(s, loginPage({ csrf: web.csrfToken(s), returnTo, rpProblem: rpProblem! }));
        const result = await passkeys.verifyLogin(form.get("ceremony") ?? "", s.csrfCookie, form.get("credential") ?? "");
        if (!result.ok) {
          audit.append({ kind: "user.login", decision: "deny", details: { reason: result.reason, ip: s.ip } });
          const response = loginPage({ csrf: web.csrfToken(s), returnTo, message: `Sign-in failed: ${result.reason}.` });
          return web.finish(s, new Response(response.body, { status: 401, headers: response.headers }));
        }
        if (s.session) await web.sessions.destroy(s.session.key);
        const session = await web.sessions.create(result.user.name, result.passkey.id);
        audit.append({ kind: "user.login", decision: "allow", subject: result.user.spiffeId, details: { passkey: result.passkey.id.slice(0, 16), ip: s.ip } });
        return web.finish(s, redirect(returnTo, [["set-cookie", web.sessionCookie(session.id)]]));
      } catch (err) {
        return web.failure(s, err);
      }
    },
    { parse: "none" },
  );

  app.post(
    "/logout",
    async ({ request, server }) => {
      const s = web.state(request, ipOf(server, request));
      try {
        web.checkCsrf(s, await readForm(request));
        if (s.session) {
          await web.sessions.destroy(s.session.key);
          audit.append({ kind: "user.logout", decision: "info", details: { user: s.session.record.user } });
        }
        return web.finish(s, messagePage({ title: "Signed out", message: "You are signed out of sluice.", link: { href: "/login", text: "Sign in again" }, headers: { "set-cookie": web.clearSessionCookie() } }));
      } catch (err) {
        return web.failure(s, err);
      }
    },
    { parse: "none" },
  );
}
