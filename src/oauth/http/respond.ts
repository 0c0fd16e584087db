/** JSON answers of the token-side endpoints: `Cache-Control: no-store` (RFC 6749 §5.1), RFC 6749 §5.2 errors. */
import type { Logger } from "../../log/index.ts";
import { OAuthError } from "../types.ts";

const NO_STORE = { "content-type": "application/json", "cache-control": "no-store", pragma: "no-cache" } as const;

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...NO_STORE, ...headers } });
}

/** An OAuthError as RFC 6749 §5.2 JSON; anything else becomes `server_error` (logged, never shown). */
export function errorResponse(err: unknown, logger: Logger, context: Record<string, unknown> = {}): Response {
  if (err instanceof OAuthError) return json(err.toJSON(), err.status, { ...err.headers });
  logger.error("oauth endpoint failed", { ...context, error: err });
  return json({ error: "server_error", error_description: "internal error; see the sluice log" }, 500);
}
