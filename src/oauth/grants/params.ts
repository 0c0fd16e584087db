/** Parameter helpers shared by the grants: scopes (RFC 6749 §3.3), resources (RFC 8707), PKCE (RFC 7636). */
import { createHash } from "node:crypto";
import { OAuthError, type ResourceValidator } from "../types.ts";

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const MAX_SCOPES = 64;
const MAX_RESOURCES = 16;

export function required(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (value === null || value === "") throw new OAuthError("invalid_request", `the "${name}" parameter is required`);
  return value;
}

/** RFC 6749 §3.3: space-delimited scope-tokens; undefined when the parameter is absent. */
export function requestedScopes(params: URLSearchParams): string[] | undefined {
  const raw = params.get("scope");
  if (raw === null) return undefined;
  const scopes = [...new Set(raw.split(" ").filter((s) => s !== ""))];
  if (scopes.length > MAX_SCOPES) throw new OAuthError("invalid_scope", `at most ${MAX_SCOPES} scopes`);
  for (const s of scopes) if (!SCOPE_TOKEN.test(s)) throw new OAuthError("invalid_scope", `"${s.slice(0, 40)}" is not a valid scope token (RFC 6749 §3.3)`);
  return scopes;
}

/** Every scope in `requested` must be in `granted`: narrowing allowed, never widening. */
export function narrowScopes(requested: string[] | undefined, granted: readonly string[], what: string): readonly string[] {
  if (requested === undefined) return granted;
  const extra = requested.filter((s) => !granted.includes(s));
  if (extra.length > 0) throw new OAuthError("invalid_scope", `scope "${extra.join(" ")}" exceeds the ${what}`);
  return requested;
}

/** RFC 8707 §2: each `resource` validated and canonicalized; undefined when absent. */
export function requestedResources(params: URLSearchParams, validator: ResourceValidator, name = "resource"): string[] | undefined {
  const raw = params.getAll(name);
  if (raw.length === 0) return undefined;
  if (raw.length > MAX_RESOURCES) throw new OAuthError("invalid_target", `at most ${MAX_RESOURCES} ${name} values`);
  return [...new Set(raw.map((r) => validator.validate(r)))];
}

/** RFC 8707 §2.2: a resource on the token request must be among those granted. */
export function narrowResources(requested: string[] | undefined, granted: readonly string[], validator: ResourceValidator): readonly string[] {
  if (requested === undefined) return granted;
  // Granted resources were canonicalized when validated at the authorize step; compare as is first.
  const canonicalGranted = requested.every((r) => granted.includes(r)) ? granted : granted.map((g) => safeCanonical(g, validator));
  const extra = requested.filter((r) => !canonicalGranted.includes(r));
  if (extra.length > 0) throw new OAuthError("invalid_target", `resource "${extra[0]}" was not granted (RFC 8707 §2.2: only resources of the original grant)`);
  return requested;
}

function safeCanonical(resource: string, validator: ResourceValidator): string {
  try {
    return validator.validate(resource);
  } catch {
    // A resource no longer in the policy cannot be narrowed to; compare as stored.
    return resource;
  }
}

const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** RFC 7636 §4.1 syntax and §4.6 S256 check; undefined when it matches. */
export function pkceProblem(verifier: string | null, challenge: string): OAuthError | undefined {
  if (verifier === null || verifier === "") return new OAuthError("invalid_grant", "code_verifier is required (PKCE, RFC 7636 §4.5)");
  if (!VERIFIER.test(verifier)) return new OAuthError("invalid_grant", "code_verifier must be 43–128 unreserved characters (RFC 7636 §4.1)");
  const computed = createHash("sha256").update(verifier).digest("base64url");
  if (computed !== challenge) return new OAuthError("invalid_grant", "code_verifier does not match the code_challenge (RFC 7636 §4.6)");
  return undefined;
}
