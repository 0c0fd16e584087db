/** /account: the signed-in user's passkeys (add, remove) and remembered consents (revoke). */
import type { Elysia } from "elysia";
import type { AuditLog } from "../../audit/index.ts";
import type { Consents } from "../consents.ts";
import { BadRequest, jsonResponse, readForm, redirect } from "../http.ts";
import type { Passkeys } from "../passkeys.ts";
import { accountPage } from "../pages/views.ts";
import { toUserRecord } from "../accounts.ts";
import type { RequestState, Web } from "../web.ts";
import { ipOf } from "./ip.ts";

export interface AccountDeps {
  readonly web: Web;
  readonly passkeys: Passkeys | undefined;
  readonly rpProblem: string | undefined;
  readonly consents: Consents;
  readonly audit: AuditLog;
}

const MESSAGES: Record<string, string> = { enrolled: "Your passkey is registered and you are signed in.", added: "Passkey added.", removed: "Passkey removed.", revoked: "Consent revoked." };

export function mountAccount(app: Elysia, { web, passkeys, rpProblem, consents, audit }: AccountDeps): void {
  const signedIn = (s: RequestState) => {
    const account = s.session && web.accounts.account(s.session.record.user);
    if (!account) throw new BadRequest("you are not signed in (or your session expired): sign in again", 401);
    return account;
  };
  const post = (path: string, handle: (s: RequestState, form: URLSearchParams) => Promise<Response>, json = false) =>
    app.post(
      path,
      async ({ request, server }) => {
        const s = web.state(request, ipOf(server, request));
        try {
          const form = await readForm(request);
          web.checkCsrf(s, form);
          return web.finish(s, await handle(s, form));
        } catch (err) {
          return web.failure(s, err, json);
        }
      },
      { parse: "none" },
    );

  app.get("/account", ({ request, server }) => {
    const s = web.state(request, ipOf(server, request));
    if (!s.session) return web.finish(s, redirect("/login?return_to=%2Faccount"));
    const account = web.accounts.account(s.session.record.user)!;
    const flag = Object.keys(MESSAGES).find((k) => new URL(request.url).searchParams.has(k));
    return web.finish(
      s,
      accountPage({
        user: toUserRecord(account),
        csrf: web.csrfToken(s),
        passkeys: web.accounts.passkeys(account.name),
        current: s.session.record.passkey,
        consents: consents.list(account.name),
        ...(flag ? { message: MESSAGES[flag]! } : {}),
        ...(rpProblem ? { rpProblem } : {}),
      }),
    );
  });

  post(
    "/account/passkeys/options",
    async (s) => {
      const account = signedIn(s);
      web.rateLimit(s, "enroll");
      if (!passkeys) throw new BadRequest(rpProblem!, 409);
      return jsonResponse(await passkeys.registrationOptions(account, s.csrfCookie));
    },
    true,
  );

  post("/account/passkeys", async (s, form) => {
    const account = signedIn(s);
    web.rateLimit(s, "enroll");
    if (!passkeys) throw new BadRequest(rpProblem!, 409);
    const passkey = await passkeys.verifyRegistration(form.get("ceremony") ?? "", s.csrfCookie, form.get("credential") ?? "");
    if (passkey.user !== account.name) throw new BadRequest("this passkey prompt was started for another user", 403);
    web.accounts.addPasskey(passkey);
    audit.append({ kind: "user.passkey.add", decision: "allow", subject: account.spiffeId, details: { passkey: passkey.id.slice(0, 16), ip: s.ip } });
    return redirect("/account?added=1");
  });

  post("/account/passkeys/remove", async (s, form) => {
    const account = signedIn(s);
    const id = form.get("id") ?? "";
    if (web.accounts.passkeys(account.name).length <= 1) throw new BadRequest("this is your only passkey: add another one first, or ask an administrator (sluice user passkeys --rm)", 409);
    if (!web.accounts.removePasskey(account.name, id)) throw new BadRequest("you have no such passkey", 404);
    audit.append({ kind: "user.passkey.remove", decision: "info", subject: account.spiffeId, details: { passkey: id.slice(0, 16), by: "user" } });
    return redirect("/account?removed=1");
  });

  post("/account/consents/revoke", async (s, form) => {
    const account = signedIn(s);
    // Revokes the tokens issued under the consent too (refresh families, unredeemed codes).
    const { consents: n, families } = await consents.withdraw(account, form.get("id") ?? "");
    if (n === 0) throw new BadRequest("no such consent", 404);
    audit.append({ kind: "user.consent.revoke", decision: "info", subject: account.spiffeId, details: { by: "user", count: n, revoked_families: families } });
    return redirect("/account?revoked=1");
  });
}
