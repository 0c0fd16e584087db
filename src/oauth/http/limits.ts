/** Limits on every input of the token-side endpoints (DESIGN §6). */
export const OAUTH_LIMITS = {
  /** A token request is a few hundred bytes; a JWT-SVID assertion plus a subject token a few KB. */
  maxFormBytes: 32 * 1024,
  maxParams: 32,
  maxParamNameLength: 64,
  /** Long enough for JWTs (subject_token, client_assertion), short enough to bound the work. */
  maxParamValueLength: 16 * 1024,
  maxAuthorizationHeaderLength: 16 * 1024,
} as const;
