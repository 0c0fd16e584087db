/** The pages: login, enrollment, consent, account (passkeys and consents), logout, errors. */
import type { ConsentRecord, PasskeyRecord } from "../db.ts";
import type { OAuthClient, UserRecord } from "../../oauth/types.ts";
import { isLoopbackHost } from "../../policy/index.ts";
import { html, page, type Html } from "./html.ts";
import { WEBAUTHN_SCRIPT } from "./webauthn-script.ts";

const NOSCRIPT = html`<noscript><p class="warn">Passkeys need JavaScript (the WebAuthn API is only reachable from a script). Everything else on these pages works without it.</p></noscript>`;

function passkeyForm(options: { action: string; optionsUrl: string; mode: "register" | "authenticate"; csrf: string; label: string; hidden?: Record<string, string> }): Html {
  const hidden = Object.entries(options.hidden ?? {}).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`);
  return html`<form method="post" action="${options.action}" data-webauthn="${options.mode}" data-options="${options.optionsUrl}">
<input type="hidden" name="csrf" value="${options.csrf}"><input type="hidden" name="ceremony" value=""><input type="hidden" name="credential" value="">${hidden}
<div class="actions"><button type="submit" disabled>${options.label}</button></div><p class="error" data-error role="alert"></p></form>`;
}

export function loginPage(input: { csrf: string; returnTo: string; message?: string; rpProblem?: string }): Response {
  const body = html`<h1>Sign in</h1>
${input.message ? html`<p class="error" role="alert">${input.message}</p>` : ""}
${input.rpProblem ? html`<p class="error">${input.rpProblem}</p>` : html`<p>Use a passkey registered with this sluice. Your browser will offer the passkeys it holds for this site; there is no user name to type.</p>
${passkeyForm({ action: "/login", optionsUrl: "/login/options", mode: "authenticate", csrf: input.csrf, label: "Sign in with a passkey", hidden: { return_to: input.returnTo } })}`}
${NOSCRIPT}<p class="muted">No passkey yet? Ask an administrator for an enrollment link (<code>sluice user add NAME</code>).</p>`;
  return page({ title: "Sign in", body, script: WEBAUTHN_SCRIPT });
}

export function enrollPage(input: { user: string; token: string; csrf: string; expiresAt: number; rpProblem?: string }): Response {
  const expires = new Date(input.expiresAt * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC";
  const body = html`<h1>Create a passkey</h1>
<p>This one-time link registers a passkey for <strong>${input.user}</strong>. It expires at ${expires} and works once.</p>
${input.rpProblem ? html`<p class="error">${input.rpProblem}</p>` : passkeyForm({ action: `/enroll/${input.token}`, optionsUrl: `/enroll/${input.token}/options`, mode: "register", csrf: input.csrf, label: "Create passkey" })}
${NOSCRIPT}<p class="muted">Your device asks you to unlock it (fingerprint, face or PIN): sluice requires user verification.</p>`;
  return page({ title: "Create a passkey", body, script: WEBAUTHN_SCRIPT });
}

export interface ConsentView {
  readonly csrf: string;
  readonly pendingId: string;
  readonly client: OAuthClient;
  readonly user: UserRecord;
  readonly workload?: string;
  readonly resources: readonly string[];
  readonly scopes: readonly string[];
  readonly redirectUri: string;
}

export function consentPage(v: ConsentView): Response {
  const redirect = new URL(v.redirectUri);
  // MCP security considerations: the redirect's host MUST be shown (a private-use scheme has none: show the scheme), with a warning for loopback.
  const returnsTo = redirect.host !== "" ? redirect.host : redirect.protocol;
  const loopback = redirect.protocol === "http:" && isLoopbackHost(redirect.hostname);
  const body = html`<h1>Allow access?</h1>
<dl>
<dt>Workload</dt><dd>${v.workload ? html`<code>${v.workload}</code>` : html`<span class="warn">unbound client: no workload identity vouches for this client</span>`}</dd>
<dt>Client</dt><dd>${v.client.clientName ? html`${v.client.clientName} ` : ""}<span class="muted"><code>${v.client.clientId}</code></span></dd>
<dt>Acting for</dt><dd>${v.user.displayName ?? v.user.name} <span class="muted"><code>${v.user.spiffeId}</code></span></dd>
<dt>Resource</dt><dd>${v.resources.map((r) => html`<code>${r}</code><br>`)}</dd>
<dt>Scopes</dt><dd>${v.scopes.length ? v.scopes.map((s) => html`<code>${s}</code> `) : html`<span class="muted">none requested</span>`}</dd>
<dt>Returns to</dt><dd><code>${returnsTo}</code>${loopback ? html`<br><span class="warn">a program on the computer that started this sign-in receives the result</span>` : ""}</dd>
</dl>
<form method="post" action="/oauth2/authorize/consent">
<input type="hidden" name="csrf" value="${v.csrf}"><input type="hidden" name="pending" value="${v.pendingId}">
<label><input type="checkbox" name="remember" value="1" checked> Remember this answer for this client, resource and scopes</label>
<div class="actions"><button type="submit" name="decision" value="allow">Allow</button><button type="submit" name="decision" value="deny" class="secondary">Deny</button></div>
</form>`;
  return page({ title: "Allow access?", body });
}

/** An error for the user; with `returnTo` (an error response for the client) it links there and goes on by itself after a few seconds. */
export function errorPage(input: { title: string; message: string; status: number; returnTo?: string; headers?: Record<string, string> }): Response {
  const after = input.returnTo
    ? html`<div class="actions"><a href="${input.returnTo}" data-return>Return to the application</a></div><p class="muted">The application is told that access was not granted.</p>`
    : html`<p class="muted">Nothing was sent back to the application.</p>`;
  const body = html`<h1>${input.title}</h1><p>${input.message}</p>${after}`;
  const headers = { ...(input.returnTo ? { refresh: `5; url=${input.returnTo}` } : {}), ...input.headers };
  return page({ title: input.title, body, status: input.status, headers });
}

export function messagePage(input: { title: string; message: string; link?: { href: string; text: string }; headers?: Record<string, string> }): Response {
  const body = html`<h1>${input.title}</h1><p>${input.message}</p>${input.link ? html`<p><a href="${input.link.href}">${input.link.text}</a></p>` : ""}`;
  return page({ title: input.title, body, ...(input.headers ? { headers: input.headers } : {}) });
}

export function accountPage(input: { user: UserRecord; csrf: string; passkeys: readonly PasskeyRecord[]; current: string; consents: readonly (ConsentRecord & { id: string })[]; message?: string; rpProblem?: string }): Response {
  const date = (s: number | undefined) => (s ? new Date(s * 1000).toISOString().slice(0, 16).replace("T", " ") : "never");
  const hidden = html`<input type="hidden" name="csrf" value="${input.csrf}">`;
  const body = html`<h1>${input.user.displayName ?? input.user.name}</h1>
<p class="muted"><code>${input.user.spiffeId}</code>${input.user.admin ? " · administrator" : ""}</p>
${input.message ? html`<p role="status">${input.message}</p>` : ""}
<h2>Passkeys</h2>
<table><tr><th>ID</th><th>Added</th><th>Last used</th><th></th></tr>
${input.passkeys.map(
  (p) => html`<tr data-passkey="${p.id}"><td><code>${p.id.slice(0, 12)}…</code>${p.id === input.current ? html` <span class="muted">(this session)</span>` : ""}</td><td>${date(p.createdAt)}</td><td>${date(p.lastUsedAt)}</td>
<td>${input.passkeys.length > 1 ? html`<form class="inline" method="post" action="/account/passkeys/remove">${hidden}<input type="hidden" name="id" value="${p.id}"><button class="danger" type="submit">Remove</button></form>` : ""}</td></tr>`,
)}</table>
${input.rpProblem ? html`<p class="error">${input.rpProblem}</p>` : passkeyForm({ action: "/account/passkeys", optionsUrl: "/account/passkeys/options", mode: "register", csrf: input.csrf, label: "Add a passkey" })}
${NOSCRIPT}
<h2>Applications you allowed</h2>
${input.consents.length === 0 ? html`<p class="muted">None remembered.</p>` : html`<table><tr><th>Client</th><th>Resource</th><th>Scopes</th><th></th></tr>${input.consents.map(
  (c) => html`<tr><td><code>${c.clientId}</code></td><td>${c.resources.map((r) => html`<code>${r}</code> `)}</td><td>${c.scopes.join(" ")}</td>
<td><form class="inline" method="post" action="/account/consents/revoke">${hidden}<input type="hidden" name="id" value="${c.id}"><button class="danger" type="submit">Revoke</button></form></td></tr>`,
)}</table>`}
<form method="post" action="/logout">${hidden}<div class="actions"><button class="secondary" type="submit">Sign out</button></div></form>`;
  return page({ title: "Your account", body, script: WEBAUTHN_SCRIPT });
}
