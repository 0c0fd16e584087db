/**
 * A real upstream authorization server for tests: oidc-provider 9 over HTTPS on loopback, with the
 * in-memory adapter, DCR, PKCE (S256, required), resource indicators (RFC 8707), rotating refresh
 * tokens, revocation (RFC 7009) and client credentials. Its dev interactions (login + consent
 * forms) are driven with cookie-keeping HTTP requests by `completeUpstreamLogin`.
 *
 * Used by the broker tests and reusable by the lead's e2e test.
 */
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair } from "jose";
import Provider from "oidc-provider";

export interface UpstreamAsOptions {
  readonly tls: { readonly cert: string; readonly key: string };
  /** Resource servers this AS issues tokens for (RFC 8707 indicators, absolute URLs). */
  readonly resources: readonly string[];
  /** Access token lifetime in seconds (authorization code, refresh and client credentials). Default 300. */
  readonly accessTokenTtl?: number;
  /** Scopes a resource server accepts. Default ["mcp:tools"]. */
  readonly resourceScopes?: readonly string[];
  /** Pre-registered confidential clients (e.g. for client credentials). */
  readonly clients?: readonly { client_id: string; client_secret: string; grant_types?: string[]; response_types?: string[]; redirect_uris?: string[]; scope?: string }[];
  /** Access token format. Default "jwt" (ES256). */
  readonly accessTokenFormat?: "jwt" | "opaque";
  readonly host?: string;
}

export interface UpstreamEvents {
  /** grant_type of every successful token response, in order. */
  readonly grants: string[];
  /** Grant ids revoked (RFC 7009 revocation of a refresh token revokes its grant). */
  readonly revokedGrants: string[];
  /** Every /token/revocation request that reached the endpoint. */
  revocationRequests: number;
  /** Client ids registered through DCR. */
  readonly registrations: string[];
}

export interface UpstreamAs {
  readonly issuer: string;
  readonly provider: Provider;
  readonly events: UpstreamEvents;
  /** Count of successful grants of one type. */
  grantCount(type: string): number;
  stop(): Promise<void>;
}

export async function startUpstreamAs(options: UpstreamAsOptions): Promise<UpstreamAs> {
  const host = options.host ?? "127.0.0.1";
  const server: Server = createServer({ cert: options.tls.cert, key: options.tls.key });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const ttl = options.accessTokenTtl ?? 300;
  const scopes = options.resourceScopes ?? ["mcp:tools"];
  const resources = new Set(options.resources);

  const rsa = await generateKeyPair("RS256", { extractable: true });
  const ec = await generateKeyPair("ES256", { extractable: true });
  const jwks = { keys: [{ ...(await exportJWK(rsa.privateKey)), alg: "RS256", use: "sig" }, { ...(await exportJWK(ec.privateKey)), alg: "ES256", use: "sig" }] };

  const provider = new Provider(issuer, {
    jwks,
    clients: (options.clients ?? []).map((c) => ({
      grant_types: ["client_credentials"],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: "client_secret_basic",
      ...c,
    })),
    scopes: ["openid", "offline_access", ...scopes],
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: true },
      revocation: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string | string[]) => oneOf ?? undefined,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, indicator: string) => {
          if (!resources.has(indicator)) throw new Provider.errors.InvalidTarget!();
          return {
            scope: scopes.join(" "),
            audience: indicator,
            accessTokenTTL: ttl,
            accessTokenFormat: options.accessTokenFormat ?? "jwt",
            jwt: { sign: { alg: "ES256" } },
          };
        },
      },
    },
    pkce: { required: () => true },
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(t: string): boolean }) => client.grantTypeAllowed("refresh_token"),
    expiresWithSession: async () => false,
    ttl: { AccessToken: ttl, ClientCredentials: ttl, RefreshToken: 86_400, Grant: 86_400, Session: 86_400, Interaction: 600 },
    clientDefaults: { grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "client_secret_basic" },
  });

  const events: UpstreamEvents = { grants: [], revokedGrants: [], revocationRequests: 0, registrations: [] };
  provider.on("grant.success", (ctx) => events.grants.push(String(ctx.oidc.params?.grant_type)));
  provider.on("grant.revoked", (_ctx, grantId: string) => events.revokedGrants.push(grantId));
  provider.on("registration_create.success", (_ctx, client) => events.registrations.push(client.clientId));
  provider.use(async (ctx, next) => {
    if (ctx.path === "/token/revocation") events.revocationRequests++;
    await next();
  });

  server.on("request", provider.callback());
  return {
    issuer,
    provider,
    events,
    grantCount: (type) => events.grants.filter((g) => g === type).length,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * Drives oidc-provider's dev interactions from an authorization URL: follows redirects keeping
 * cookies, submits the login form (as `account`) and the consent form (or aborts when `deny`),
 * and returns the URL the upstream finally redirects to (the client's redirect_uri, not followed).
 */
export async function completeUpstreamLogin(
  authorizeUrl: string,
  options: { account: string; ca: string; redirectPrefix: string; deny?: boolean },
): Promise<string> {
  const jar = new Map<string, string>();
  const send = async (url: string, init: { method?: string; body?: string } = {}): Promise<Response> => {
    const res = await fetch(url, {
      method: init.method ?? "GET",
      redirect: "manual",
      headers: {
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; "),
        ...(init.body === undefined ? {} : { "content-type": "application/x-www-form-urlencoded" }),
      },
      ...(init.body === undefined ? {} : { body: init.body }),
      tls: { ca: options.ca },
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const eq = pair!.indexOf("=");
      jar.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
    return res;
  };
  let url = authorizeUrl;
  for (let hop = 0; hop < 20; hop++) {
    if (url.startsWith(options.redirectPrefix)) return url;
    const res = await send(url);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get("location")!, url).toString();
      await res.body?.cancel();
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`upstream answered ${res.status} at ${url}: ${html.slice(0, 300)}`);
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`no interaction form at ${url}: ${html.slice(0, 300)}`);
    const formUrl = new URL(action, url).toString();
    if (options.deny) {
      url = `${formUrl.replace(/\/$/, "")}/abort`;
      continue;
    }
    const body = prompt === "login" ? new URLSearchParams({ prompt, login: options.account, password: "any" }) : new URLSearchParams({ prompt });
    const post = await send(formUrl, { method: "POST", body: body.toString() });
    if (post.status < 300 || post.status >= 400) throw new Error(`interaction ${prompt} answered ${post.status}: ${(await post.text()).slice(0, 300)}`);
    url = new URL(post.headers.get("location")!, formUrl).toString();
    await post.body?.cancel();
  }
  throw new Error("too many redirects driving the upstream login");
}
