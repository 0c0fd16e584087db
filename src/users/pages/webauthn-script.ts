/**
 * The only JavaScript sluice serves (inline, with the page's CSP nonce): a form marked
 * `data-webauthn="register"` or `"authenticate"` fetches its options from `data-options` (posting
 * the form's own fields, CSRF token included), runs the WebAuthn ceremony, puts the result in the
 * hidden `credential` field and submits the form normally. Everything else on the pages is plain HTML.
 */
export const WEBAUTHN_SCRIPT = `(() => {
const b64u = (buf) => { let s = ""; for (const b of new Uint8Array(buf)) s += String.fromCharCode(b); return btoa(s).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, ""); };
const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const ids = (list) => (list || []).map((c) => ({ ...c, id: bytes(c.id) }));
async function register(o) {
  const cred = await navigator.credentials.create({ publicKey: { ...o, challenge: bytes(o.challenge), user: { ...o.user, id: bytes(o.user.id) }, excludeCredentials: ids(o.excludeCredentials) } });
  const r = cred.response;
  return { id: cred.id, rawId: b64u(cred.rawId), type: cred.type, authenticatorAttachment: cred.authenticatorAttachment || undefined, clientExtensionResults: cred.getClientExtensionResults(),
    response: { clientDataJSON: b64u(r.clientDataJSON), attestationObject: b64u(r.attestationObject), transports: r.getTransports ? r.getTransports() : [] } };
}
async function authenticate(o) {
  const cred = await navigator.credentials.get({ publicKey: { ...o, challenge: bytes(o.challenge), allowCredentials: ids(o.allowCredentials) } });
  const r = cred.response;
  return { id: cred.id, rawId: b64u(cred.rawId), type: cred.type, authenticatorAttachment: cred.authenticatorAttachment || undefined, clientExtensionResults: cred.getClientExtensionResults(),
    response: { clientDataJSON: b64u(r.clientDataJSON), authenticatorData: b64u(r.authenticatorData), signature: b64u(r.signature), userHandle: r.userHandle ? b64u(r.userHandle) : undefined } };
}
for (const form of document.querySelectorAll("form[data-webauthn]")) {
  const out = form.querySelector("[data-error]");
  const button = form.querySelector("button");
  if (!window.PublicKeyCredential) { out.textContent = "This browser does not support passkeys."; button.disabled = true; continue; }
  button.disabled = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    out.textContent = ""; button.disabled = true;
    try {
      const res = await fetch(form.dataset.options, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" });
      const body = await res.json();
      if (!res.ok) throw new Error(body.message || "the server refused");
      form.elements.ceremony.value = body.ceremony;
      const result = form.dataset.webauthn === "register" ? await register(body.options) : await authenticate(body.options);
      form.elements.credential.value = JSON.stringify(result);
      form.submit();
    } catch (err) {
      out.textContent = (err && err.name === "NotAllowedError") ? "The passkey prompt was cancelled or timed out. Try again." : String(err && err.message || err);
      button.disabled = false;
    }
  });
}
})();`;
