/**
 * CredentialSource.spec: exactly one of oauth2AuthorizationCode, oauth2ClientCredentials, static,
 * jwtSVID. Endpoints are https (http only on loopback); PKCE cannot be turned off.
 */
import * as s from "../../schema/index.ts";
import { isLoopbackHost } from "../net/host.ts";
import type { CredentialSourceSpec } from "../types.ts";
import { inlineSecretKey, noSecret, secretRef } from "./secrets.ts";

function endpoint(what: string): s.Schema<string> {
  return s.string({
    what,
    maxLength: 2048,
    check: (v) => {
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        return `${what} ${JSON.stringify(v)} is not a valid URL`;
      }
      if (url.username || url.password) return `${what} must not contain credentials (user:password@)`;
      if (url.hash) return `${what} must not contain a fragment (#…)`;
      if (url.protocol === "https:") return undefined;
      if (url.protocol === "http:")
        return isLoopbackHost(url.hostname) ? undefined : `${what} ${JSON.stringify(v)} must use https (http is allowed only for loopback hosts)`;
      return `${what} must be an https URL, got ${JSON.stringify(url.protocol.slice(0, -1))}`;
    },
  });
}

// RFC 6749 §3.3 scope-token characters.
const scope = noSecret(s.string({ what: "scope", maxLength: 256, pattern: /^[\x21\x23-\x5b\x5d-\x7e]+$/, hint: "a scope is one token without spaces or quotes" }), "scope");
const scopes = s.withDefault(s.list(scope, { max: 100, what: "scope" }), []);
const clientID = noSecret(s.string({ what: "clientID", maxLength: 512 }), "clientID");

const pkce = s.refine(s.boolean(), (v, node, ctx) => {
  if (v) return v;
  ctx.error(node, "usePKCE cannot be false: PKCE (S256) is required for every authorization code flow (RFC 9700 §2.1.1)", "policy.pkce");
  return s.INVALID;
});

const authorizationCode = s.object(
  {
    authorizationEndpoint: s.optional(endpoint("authorizationEndpoint")),
    tokenEndpoint: s.optional(endpoint("tokenEndpoint")),
    registrationEndpoint: s.optional(endpoint("registrationEndpoint")),
    clientID: s.optional(clientID),
    clientSecretFrom: s.optional(secretRef),
    scopes,
    usePKCE: s.withDefault(pkce, true),
  },
  {
    what: "oauth2AuthorizationCode",
    unknownField: inlineSecretKey("clientSecretFrom"),
    check(v, at, ctx) {
      let ok = true;
      if (v.clientSecretFrom !== undefined && v.clientID === undefined) {
        ctx.error(at.key("clientSecretFrom"), "clientSecretFrom needs clientID", "policy.credential-source");
        ok = false;
      }
      if ((v.authorizationEndpoint === undefined) !== (v.tokenEndpoint === undefined)) {
        const present = v.authorizationEndpoint !== undefined ? "authorizationEndpoint" : "tokenEndpoint";
        ctx.error(at.key(present), "set both authorizationEndpoint and tokenEndpoint, or neither (then they are discovered from the Service's metadata)", "policy.credential-source");
        ok = false;
      }
      return ok;
    },
  },
);

const clientCredentials = s.object(
  {
    tokenEndpoint: s.required(endpoint("tokenEndpoint")),
    clientID: s.required(clientID),
    clientSecretFrom: s.required(secretRef),
    scopes,
    audience: s.optional(noSecret(s.string({ what: "audience", maxLength: 2048 }), "audience")),
  },
  { what: "oauth2ClientCredentials", unknownField: inlineSecretKey("clientSecretFrom") },
);

// RFC 9110 §5.1 field-name token; headers that would break framing or routing are refused.
const FORBIDDEN_HEADERS = new Set(["host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer", "keep-alive", "proxy-connection"]);
const header = s.string({
  what: "header",
  maxLength: 128,
  check: (v) => {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v)) return `invalid header name ${JSON.stringify(v)}`;
    if (FORBIDDEN_HEADERS.has(v.toLowerCase())) return `header ${v} cannot carry a credential (it controls message framing or routing)`;
    return undefined;
  },
});
const format = noSecret(
  s.string({
    what: "format",
    maxLength: 1024,
    check: (v) => {
      if (/[\r\n\0]/.test(v)) return "format must not contain line breaks or NUL";
      const n = v.split("{value}").length - 1;
      if (n !== 1) return `format must contain {value} exactly once (where the secret goes), e.g. "Bearer {value}"; got ${JSON.stringify(v)}`;
      return undefined;
    },
  }),
  "format",
);

const staticSecret = s.object(
  {
    valueFrom: s.required(secretRef),
    header: s.withDefault(header, "Authorization"),
    format: s.withDefault(format, "Bearer {value}"),
  },
  { what: "static", unknownField: inlineSecretKey("valueFrom") },
);

const jwtSvid = s.object(
  { audience: s.required(s.list(s.string({ what: "audience", maxLength: 2048 }), { min: 1, max: 32, what: "audience" })) },
  { what: "jwtSVID" },
);

const variants = s.oneKey(
  {
    oauth2AuthorizationCode: authorizationCode,
    oauth2ClientCredentials: clientCredentials,
    static: staticSecret,
    jwtSVID: jwtSvid,
  },
  { what: "CredentialSource spec", unknownField: inlineSecretKey("static.valueFrom") },
);

export const credentialSourceSpec: s.Schema<CredentialSourceSpec> = s.refine(variants, (v): CredentialSourceSpec => {
  switch (v.type) {
    case "oauth2AuthorizationCode": {
      const { usePKCE: _, ...rest } = v.value;
      return dropUndefined({ type: v.type, ...rest, usePKCE: true as const });
    }
    case "oauth2ClientCredentials":
      return dropUndefined({ type: v.type, ...v.value });
    case "static":
      return { type: v.type, ...v.value };
    case "jwtSVID":
      return { type: v.type, ...v.value };
  }
});

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as T;
}
