/** Authorization responses (RFC 6749 §4.1.2, §4.1.2.1) with `iss` in every one, errors included (RFC 9207 §2). */
import { redirect } from "../http.ts";

export function authorizationResponse(redirectUri: string, issuer: string, params: Record<string, string | undefined>): Response {
  return redirect(authorizationResponseUrl(redirectUri, issuer, params));
}

export function authorizationResponseUrl(redirectUri: string, issuer: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.append(k, v);
  url.searchParams.append("iss", issuer);
  return url.href;
}
