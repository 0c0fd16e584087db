/** /enroll/<token>: the one-time link `sluice user add` prints registers the user's first passkey. */
import type { Elysia } from "elysia";
import type { AuditLog } from "../../audit/index.ts";
import type { Enrollments } from "../enrollments.ts";
import { BadRequest, jsonResponse, readForm, redirect } from "../http.ts";
import type { Passkeys } from "../passkeys.ts";
import { enrollPage, errorPage } from "../pages/views.ts";
import type { Web } from "../web.ts";
import { ipOf } from "./ip.ts";

export interface EnrollDeps {
  readonly web: Web;
  readonly passkeys: Passkeys | undefined;
  readonly rpProblem: string | undefined;
  readonly enrollments: Enrollments;
  readonly audit: AuditLog;
}

const INVALID = "This enrollment link is invalid, expired, or was already used. Ask your administrator for a new one (sluice user enroll NAME).";

export function mountEnroll(app: Elysia, { web, passkeys, rpProblem, enrollments, audit }: EnrollDeps): void {
  app.get("/enroll/:token", ({ request, server, params }) => {
    const s = web.state(request, ipOf(server, request));
    try {
      web.rateLimit(s, "enroll");
    } catch (err) {
      return web.failure(s, err);
    }
    const enrollment = enrollments.peek(params.token);
    if (!enrollment) return web.finish(s, errorPage({ title: "Link not valid", message: INVALID, status: 404 }));
    return web.finish(s, enrollPage({ user: enrollment.user, token: params.token, csrf: web.csrfToken(s), expiresAt: enrollment.expiresAt, ...(rpProblem ? { rpProblem } : {}) }));
  });

  app.post(
    "/enroll/:token/options",
    async ({ request, server, params }) => {
      const s = web.state(request, ipOf(server, request));
      try {
        web.checkCsrf(s, await readForm(request));
        web.rateLimit(s, "enroll");
        const enrollment = enrollments.peek(params.token);
        const account = enrollment && web.accounts.account(enrollment.user);
        if (!account) throw new BadRequest(INVALID, 404);
        if (!passkeys) throw new BadRequest(rpProblem!, 409);
        return web.finish(s, jsonResponse(await passkeys.registrationOptions(account, s.csrfCookie)));
      } catch (err) {
        return web.failure(s, err, true);
      }
    },
    { parse: "none" },
  );

  app.post(
    "/enroll/:token",
    async ({ request, server, params }) => {
      const s = web.state(request, ipOf(server, request));
      try {
        const form = await readForm(request);
        web.checkCsrf(s, form);
        web.rateLimit(s, "enroll");
        if (!passkeys) throw new BadRequest(rpProblem!, 409);
        if (!enrollments.peek(params.token)) throw new BadRequest(INVALID, 404);
        const passkey = await passkeys.verifyRegistration(form.get("ceremony") ?? "", s.csrfCookie, form.get("credential") ?? "");
        // Verified first, then the link is used up: a failed attempt does not burn it.
        const enrollment = enrollments.consume(params.token);
        if (!enrollment || enrollment.user !== passkey.user) throw new BadRequest(INVALID, 404);
        web.accounts.addPasskey(passkey);
        const account = web.accounts.account(passkey.user)!;
        audit.append({ kind: "user.enroll", decision: "allow", subject: account.spiffeId, details: { passkey: passkey.id.slice(0, 16), aaguid: passkey.aaguid, ip: s.ip } });
        if (s.session) await web.sessions.destroy(s.session.key);
        const session = await web.sessions.create(account.name, passkey.id);
        return web.finish(s, redirect("/account?enrolled=1", [["set-cookie", web.sessionCookie(session.id)]]));
      } catch (err) {
        return web.failure(s, err);
      }
    },
    { parse: "none" },
  );
}
