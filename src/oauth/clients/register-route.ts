/** `POST /oauth2/register` (RFC 7591 §3): JSON in, 201 with the registered metadata out, errors per §3.2.2. */
import type { Elysia } from "elysia";
import type { Logger } from "../../log/index.ts";
import type { RouteModule } from "../../server/http.ts";
import { errorResponse, json } from "../http/respond.ts";
import { rateLimited, type RateLimiter } from "../rate-limit.ts";
import { OAuthError, type CallerContext } from "../types.ts";
import { callerContextFor, type AttestPeer, type RequestIpSource } from "./caller-context.ts";
import { CLIENT_LIMITS } from "./limits.ts";
import { registrationResponse } from "./records.ts";
import type { StoredClientRegistry } from "./registry.ts";
import { BodyTooLarge, readCapped } from "../../io/index.ts";

export const REGISTRATION_PATH = "/oauth2/register";

export function registrationRoutes(issuer: string, registry: StoredClientRegistry, limiter: RateLimiter, logger: Logger, attest?: AttestPeer): RouteModule {
  // Endpoints live under the issuer's path (RFC 8414 §3: an issuer may have one).
  const path = `${new URL(issuer).pathname.replace(/\/$/, "")}${REGISTRATION_PATH}`;
  return {
    name: "oauth-registration",
    mount(app: Elysia) {
      // parse: "none" — the body is read here, with its own cap, so malformed JSON is an RFC 7591 error.
      app.post(
        path,
        async ({ request, server }) => {
          let caller: CallerContext = {};
          try {
            caller = await callerContextFor(request, server as RequestIpSource | null, attest);
            const decision = limiter.take(`register:${caller.remoteAddress ?? "unknown"}`);
            if (!decision.ok) throw rateLimited(decision.retryAfterSeconds, "registrations");
            const body = await readJsonObject(request);
            const record = await registry.register(body, caller);
            return json(registrationResponse(record), 201);
          } catch (err) {
            if (err instanceof OAuthError && err.error !== "slow_down") {
              logger.info("registration refused", { error: err.error, description: err.description });
              registry.auditRefusal(caller, err);
            }
            return errorResponse(err, logger, { endpoint: path });
          }
        },
        { parse: "none" },
      );
    },
  };
}

async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") throw new OAuthError("invalid_client_metadata", "the registration request must be application/json (RFC 7591 §3.1)", { status: 415 });
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > CLIENT_LIMITS.maxMetadataBytes) throw tooLarge();
  let bytes: Uint8Array;
  try {
    bytes = await readCapped(request.body, CLIENT_LIMITS.maxMetadataBytes);
  } catch (err) {
    throw err instanceof BodyTooLarge ? tooLarge() : err;
  }
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new OAuthError("invalid_client_metadata", "the body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new OAuthError("invalid_client_metadata", "the body must be a JSON object of client metadata (RFC 7591 §2)");
  return body as Record<string, unknown>;
}

function tooLarge(): OAuthError {
  return new OAuthError("invalid_client_metadata", `the registration request is larger than ${CLIENT_LIMITS.maxMetadataBytes} bytes`, { status: 413 });
}
