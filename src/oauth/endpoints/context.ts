/** What the token-side endpoints share. */
import type { AuditLog } from "../../audit/index.ts";
import type { Logger } from "../../log/index.ts";
import type { RateLimiter } from "../rate-limit.ts";
import type { GrantDeps } from "../grants/context.ts";
import type { RefreshTokens } from "../tokens/refresh.ts";
import type { Revocations } from "../tokens/revocation.ts";
import type { AccessTokenVerifier, CallerContext, ClientRegistry, UserDirectory } from "../types.ts";

export interface EndpointDeps {
  readonly issuer: string;
  readonly clients: ClientRegistry;
  readonly users: UserDirectory;
  readonly verifier: AccessTokenVerifier;
  readonly refresh: RefreshTokens;
  readonly revocations: Revocations;
  readonly grants: GrantDeps;
  readonly audit: Pick<AuditLog, "append">;
  readonly logger: Logger;
  readonly limits: { readonly perAddress: RateLimiter; readonly perClient: RateLimiter };
  readonly now: () => number;
}

/** A token-side endpoint: the request and what the listener knows about the caller. */
export type Endpoint = (request: Request, caller: CallerContext) => Promise<Response>;
