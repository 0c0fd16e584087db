/** The AS endpoints (DESIGN §5), relative to the issuer's path. */
export const OAUTH_PATHS = {
  jwks: "/oauth2/jwks",
  register: "/oauth2/register",
  authorize: "/oauth2/authorize",
  token: "/oauth2/token",
  introspect: "/oauth2/introspect",
  revoke: "/oauth2/revoke",
  userinfo: "/oauth2/userinfo",
} as const;

/** The issuer without a trailing slash, and its path ("" for an issuer at the root). */
export function issuerParts(issuer: string): { base: string; path: string; origin: string } {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, "");
  return { base: `${url.origin}${path}`, path, origin: url.origin };
}

export function endpointUrl(issuer: string, path: string): string {
  return `${issuerParts(issuer).base}${path}`;
}
