/** HTML escaping and the page shell: inline CSS only, no external assets, a strict CSP with a per-response nonce. */
import { randomBytes } from "node:crypto";

/** Escapes text for element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A tagged template that escapes every interpolation unless it is already `Html`. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new Html(out);
}

function render(v: unknown): string {
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join("");
  if (v === undefined || v === null || v === false) return "";
  return escapeHtml(v);
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1d232b;--muted:#5b6570;--bg:#f5f6f8;--card:#fff;--line:#dde1e6;--accent:#1f5fbf;--danger:#b42318;--warn:#8a5a00}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ed;--muted:#9aa4ae;--bg:#15181c;--card:#1e2227;--line:#323840;--accent:#6ea8ff;--danger:#ff8a80;--warn:#ffcc66}}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:34rem;margin:3rem auto;padding:0 1rem}.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.5rem 1.75rem}
h1{font-size:1.35rem;margin:0 0 1rem}h2{font-size:1.05rem;margin:1.5rem 0 .5rem}p{margin:.5rem 0}.muted{color:var(--muted);font-size:.9rem}
.brand{font-weight:600;letter-spacing:.02em;color:var(--muted);margin-bottom:.75rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:1rem 0}dt{color:var(--muted)}dd{margin:0;word-break:break-all}
code{font:.9em ui-monospace,monospace}button{font:inherit;padding:.55rem 1.1rem;border-radius:8px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
button.secondary{background:transparent;color:var(--accent)}button.danger{background:transparent;border-color:var(--danger);color:var(--danger)}
.actions{display:flex;gap:.75rem;flex-wrap:wrap;margin-top:1.25rem}form.inline{display:inline}
.error{color:var(--danger)}.warn{color:var(--warn)}table{width:100%;border-collapse:collapse;font-size:.9rem}td,th{text-align:left;padding:.35rem .25rem;border-bottom:1px solid var(--line)}
ul{padding-left:1.2rem}label{display:flex;gap:.5rem;align-items:center;margin-top:.75rem}
`;

export interface PageOptions {
  readonly title: string;
  readonly body: Html;
  readonly status?: number;
  /** Inline script (runs with the page's nonce). */
  readonly script?: string;
  readonly headers?: Record<string, string>;
}

/** A full page with its security headers. */
export function page(options: PageOptions): Response {
  const nonce = randomBytes(16).toString("base64");
  const script = options.script ? `<script nonce="${nonce}">${options.script}</script>` : "";
  const doc = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="same-origin">
<title>${escapeHtml(options.title)} · sluice</title><style nonce="${nonce}">${STYLE}</style></head>
<body><main><div class="brand">sluice</div><div class="card">${options.body.value}</div></main>${script}</body></html>`;
  const headers = new Headers({ ...securityHeaders(nonce), ...options.headers });
  return new Response(doc, { status: options.status ?? 200, headers });
}

export function securityHeaders(nonce: string): Record<string, string> {
  return {
    "content-type": "text/html; charset=utf-8",
    // No form-action: Chromium applies it to the redirects after a form post, which end at the client's redirect_uri.
    "content-security-policy": `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'`,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on POSTs, which the Origin check refuses.
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
  };
}
