/**
 * The token side's HTTP routes as a RouteModule (metadata, JWKS, token, introspection, revocation,
 * userinfo). Bodies are read by the endpoints themselves, with limits (`parse: "none"`).
 */
import type { Elysia } from "elysia";
import type { RouteModule } from "../server/http.ts";
import type { Endpoint } from "./endpoints/context.ts";
import { issuerParts, OAUTH_PATHS } from "./endpoints/paths.ts";
import { callerContextFor, type RequestIpSource } from "./clients/index.ts";
import type { CallerContext } from "./types.ts";

/**
 * Builds the CallerContext of a request. The default (`callerContextFor` from ./clients) takes what
 * the mTLS listener attached (peer certificates) or the socket address; `sluice serve` passes one
 * that also attests loopback peers: `(req, server) => callerContextFor(req, server, attest)`.
 */
export type CallerResolver = (request: Request, server: RequestIpSource | null | undefined) => CallerContext | Promise<CallerContext>;

export const defaultCallerResolver: CallerResolver = (request, server) => callerContextFor(request, server);

export interface TokenSideEndpoints {
  readonly token: Endpoint;
  readonly introspect: Endpoint;
  readonly revoke: Endpoint;
  readonly userinfo: Endpoint;
  /** Answer with the metadata document / JWKS (no caller needed). */
  readonly metadata: () => Response;
  readonly jwks: () => Response;
}

export function oauthRoutes(issuer: string, metadataPaths: readonly string[], endpoints: TokenSideEndpoints, callerOf: CallerResolver): RouteModule {
  const { path } = issuerParts(issuer);
  const at = (p: string) => `${path}${p}`;
  return {
    name: "oauth",
    mount(app: Elysia) {
      type Ctx = { request: Request; server: RequestIpSource | null };
      const handle = (endpoint: Endpoint) => async (ctx: Ctx) => endpoint(ctx.request, await callerOf(ctx.request, ctx.server));
      for (const p of metadataPaths) app.get(p, () => endpoints.metadata());
      app.get(at(OAUTH_PATHS.jwks), () => endpoints.jwks());
      app.post(at(OAUTH_PATHS.token), handle(endpoints.token), { parse: "none" });
      app.post(at(OAUTH_PATHS.introspect), handle(endpoints.introspect), { parse: "none" });
      app.post(at(OAUTH_PATHS.revoke), handle(endpoints.revoke), { parse: "none" });
      app.get(at(OAUTH_PATHS.userinfo), handle(endpoints.userinfo));
      app.post(at(OAUTH_PATHS.userinfo), handle(endpoints.userinfo), { parse: "none" });
    },
  };
}
