/** What every grant handler of the token endpoint gets, and what it returns. */
import type { AuditLog } from "../../audit/index.ts";
import type { TrustDomainCA } from "../../spiffe/index.ts";
import type { CodeStore } from "../tokens/codes.ts";
import type { TokenMinter } from "../tokens/minter.ts";
import type { RefreshTokens } from "../tokens/refresh.ts";
import type { AccessTokenVerifier, AuthenticatedClient, ResourceValidator } from "../types.ts";

export interface GrantDeps {
  readonly issuer: string;
  readonly codes: CodeStore;
  readonly refresh: RefreshTokens;
  readonly minter: TokenMinter;
  readonly resources: ResourceValidator;
  readonly verifier: AccessTokenVerifier;
  readonly ca: Pick<TrustDomainCA, "trustDomain" | "bundles">;
  readonly audit: Pick<AuditLog, "append">;
}

export interface GrantRequest {
  readonly params: URLSearchParams;
  readonly auth: AuthenticatedClient;
  /** Seconds since the epoch. */
  readonly now: number;
}

/** RFC 6749 §5.1 (+ RFC 8693 §2.2.1 `issued_token_type`, OIDC `id_token`). */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: "Bearer";
  readonly expires_in: number;
  readonly scope?: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
  readonly issued_token_type?: string;
}

export type GrantHandler = (request: GrantRequest, deps: GrantDeps) => Promise<TokenResponse>;
