// oidc-provider 9 configured like sluice's token side, for bench/token.ts (run with node):
// an in-memory (Map) adapter, ES256 JWT access tokens, PKCE S256 required, resource indicators (RFC 8707),
// rotating refresh tokens, a public client (token_endpoint_auth_method none).
// Prints one JSON line {url, issuer}; POST /__bench/codes?n=N mints N authorization codes (the
// state the authorize step would leave), outside the measured time.
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { exportJWK, generateKeyPair } from "jose";
import Provider from "oidc-provider";

const RESOURCE = "https://mcp.example.test/mcp";
const REDIRECT = "http://127.0.0.1:7777/callback";
const server = createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
const ec = await generateKeyPair("ES256", { extractable: true });

// oidc-provider's bundled memory adapter is an LRU of 1000 entries (grants get evicted under
// load); this is the same in-memory idea without the cap, per the documented adapter interface.
const store = new Map();
const grants = new Map();
class MapAdapter {
  constructor(model) {
    this.model = model;
  }
  key(id) {
    return `${this.model}:${id}`;
  }
  async upsert(id, payload, expiresIn) {
    store.set(this.key(id), { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
    if (payload.grantId) {
      const members = grants.get(payload.grantId) ?? new Set();
      members.add(this.key(id));
      grants.set(payload.grantId, members);
    }
  }
  async find(id) {
    const entry = store.get(this.key(id));
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      store.delete(this.key(id));
      return undefined;
    }
    return entry.payload;
  }
  async findByUserCode() {
    return undefined;
  }
  async findByUid() {
    return undefined;
  }
  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id) {
    store.delete(this.key(id));
  }
  async revokeByGrantId(grantId) {
    for (const key of grants.get(grantId) ?? []) store.delete(key);
    grants.delete(grantId);
  }
}

const provider = new Provider(issuer, {
  adapter: MapAdapter,
  jwks: { keys: [{ ...(await exportJWK(ec.privateKey)), alg: "ES256", use: "sig", kid: "es" }] },
  clients: [{ client_id: "bench", token_endpoint_auth_method: "none", redirect_uris: [REDIRECT], grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], application_type: "native", id_token_signed_response_alg: "ES256" }],
  scopes: ["openid", "offline_access", "files:read"],
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf ?? RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => {
        if (indicator !== RESOURCE) throw new Provider.errors.InvalidTarget();
        return { scope: "files:read", audience: indicator, accessTokenTTL: 600, accessTokenFormat: "jwt", jwt: { sign: { alg: "ES256" } } };
      },
    },
  },
  pkce: { required: () => true },
  rotateRefreshToken: true,
  issueRefreshToken: async () => true,
  expiresWithSession: async () => false,
  ttl: { AccessToken: 600, AuthorizationCode: 60, RefreshToken: 86400, Grant: 86400, Session: 86400 },
});
provider.proxy = false;

provider.use(async (ctx, next) => {
  if (ctx.path !== "/__bench/codes") return next();
  const n = Number(ctx.query.n ?? 1);
  const client = await provider.Client.find("bench");
  const out = [];
  for (let i = 0; i < n; i++) {
    const accountId = `user-${i}`;
    const grant = new provider.Grant({ accountId, clientId: "bench" });
    grant.addOIDCScope("offline_access");
    grant.addResourceScope(RESOURCE, "files:read");
    const grantId = await grant.save();
    const verifier = randomBytes(32).toString("base64url");
    const code = new provider.AuthorizationCode({
      client,
      accountId,
      grantId,
      redirectUri: REDIRECT,
      scope: "offline_access files:read",
      resource: RESOURCE,
      codeChallenge: createHash("sha256").update(verifier).digest("base64url"),
      codeChallengeMethod: "S256",
      authTime: Math.floor(Date.now() / 1000),
      expiresWithSession: false,
    });
    out.push({ code: await code.save(), verifier });
  }
  ctx.body = out;
});

server.on("request", provider.callback());
console.log(JSON.stringify({ url: issuer, control: `${issuer}/__bench/codes`, resource: RESOURCE, redirectUri: REDIRECT, clientId: "bench", tokenPath: "/token", jwks: `${issuer}/jwks`, discovery: `${issuer}/.well-known/openid-configuration` }));
