/**
 * sluice's token side for bench/token.ts, over the same real parts as the integration tests
 * (LMDB store, hash-chained audit log, TrustDomainCA, policy snapshot, Elysia on loopback) with
 * a public client like oidc-provider's. Prints one JSON line {url, …}; a second loopback port
 * answers POST /codes?n=N with N codes issued through `AuthorizationCodes.issue` (what the
 * authorize step does after consent), outside the measured time.
 */
import { createHash, randomBytes } from "node:crypto";
import { MCP_RESOURCE, startOAuthFixture } from "../test/support/oauth/fixture.ts";

const REDIRECT = "http://127.0.0.1:7777/callback";
const f = await startOAuthFixture();
f.clients.add({ clientId: "bench", redirectUris: [REDIRECT] });
const user = f.users.add("alice");

const control = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    const n = Number(new URL(request.url).searchParams.get("n") ?? 1);
    const out: { code: string; verifier: string }[] = [];
    for (let i = 0; i < n; i++) {
      const verifier = randomBytes(32).toString("base64url");
      const code = await f.oauth.codes.issue({
        clientId: "bench",
        redirectUri: REDIRECT,
        codeChallenge: createHash("sha256").update(verifier).digest("base64url"),
        scopes: ["files:read"],
        resources: [MCP_RESOURCE],
        subject: user.spiffeId,
        user: { name: user.name, spiffeId: user.spiffeId },
        authTime: Math.floor(Date.now() / 1000),
      });
      out.push({ code, verifier });
    }
    return Response.json(out);
  },
});

console.log(
  JSON.stringify({
    url: f.issuer,
    control: `http://127.0.0.1:${control.port}/codes`,
    resource: MCP_RESOURCE,
    redirectUri: REDIRECT,
    clientId: "bench",
    tokenPath: "/oauth2/token",
    jwks: `${f.issuer}/oauth2/jwks`,
    discovery: `${f.issuer}/.well-known/oauth-authorization-server`,
  }),
);
process.on("SIGTERM", async () => {
  await control.stop(true);
  await f.close();
  process.exit(0);
});
