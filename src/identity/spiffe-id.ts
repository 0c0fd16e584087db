/**
 * SPIFFE ID syntax, enforced exactly as the spec words it.
 * @see https://github.com/spiffe/spiffe/blob/main/standards/SPIFFE-ID.md §2
 */
import { SluiceError } from "../errors/index.ts";

/** A parsed SPIFFE ID; `path` is "" or starts with "/". */
export interface SpiffeId {
  readonly trustDomain: string;
  readonly path: string;
  /** The full `spiffe://trust-domain/path` string. */
  readonly id: string;
}

/** Which rule of the spec an input broke (stable, for tests and callers that branch). */
export type SpiffeIdRule =
  | "empty"
  | "too-long"
  | "scheme"
  | "scheme-case"
  | "query-or-fragment"
  | "userinfo"
  | "port"
  | "trust-domain-empty"
  | "trust-domain-case"
  | "trust-domain-chars"
  | "trust-domain-too-long"
  | "percent-encoding"
  | "trailing-slash"
  | "empty-segment"
  | "dot-segment"
  | "path-chars";

export class SpiffeIdError extends SluiceError {
  readonly rule: SpiffeIdRule;
  constructor(rule: SpiffeIdRule, message: string) {
    super("ERR_SPIFFE_ID", message);
    this.rule = rule;
  }
}

export type SpiffeIdResult = { ok: true; value: SpiffeId } | { ok: false; error: SpiffeIdError };

const SCHEME = "spiffe://";
/** §2.3: MUST support up to 2048 bytes; we refuse longer ones. */
export const MAX_SPIFFE_ID_BYTES = 2048;
/** §2.3: the host component of a URI is at most 255 characters. */
export const MAX_TRUST_DOMAIN_BYTES = 255;

const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
const SEGMENT_CHARS = /^[a-zA-Z0-9._-]+$/;

function fail(rule: SpiffeIdRule, message: string): SpiffeIdResult {
  return { ok: false, error: new SpiffeIdError(rule, message) };
}

/** Why `td` is not a valid trust domain name (§2.1), or undefined when it is. */
export function trustDomainProblem(td: string): { rule: SpiffeIdRule; message: string } | undefined {
  if (td.length === 0) return { rule: "trust-domain-empty", message: "trust domain must not be empty" };
  if (td.includes("%")) return { rule: "percent-encoding", message: "trust domain must not contain percent-encoded characters" };
  if (td.startsWith("[")) return { rule: "trust-domain-chars", message: "trust domain must not be an IPv6 address" };
  if (td.includes("@")) return { rule: "userinfo", message: "trust domain must not contain userinfo (`user@`)" };
  if (td.includes(":")) return { rule: "port", message: "trust domain must not contain a port" };
  if (Buffer.byteLength(td) > MAX_TRUST_DOMAIN_BYTES)
    return { rule: "trust-domain-too-long", message: `trust domain is longer than ${MAX_TRUST_DOMAIN_BYTES} bytes` };
  if (!TRUST_DOMAIN_CHARS.test(td)) {
    if (TRUST_DOMAIN_CHARS.test(td.toLowerCase()))
      return { rule: "trust-domain-case", message: `trust domain must be lowercase (did you mean "${td.toLowerCase()}"?)` };
    return { rule: "trust-domain-chars", message: "trust domain may contain only a-z, 0-9, '.', '-' and '_'" };
  }
  return undefined;
}

export function isValidTrustDomain(td: string): boolean {
  return trustDomainProblem(td) === undefined;
}

/** Why `path` ("" or "/a/b") is not a valid SPIFFE ID path (§2.2), or undefined when it is. */
function pathProblem(path: string): { rule: SpiffeIdRule; message: string } | undefined {
  if (path === "") return undefined;
  if (path.includes("%")) return { rule: "percent-encoding", message: "path must not contain percent-encoded characters" };
  if (path.endsWith("/")) return { rule: "trailing-slash", message: "path must not end with '/'" };
  const segments = path.slice(1).split("/");
  for (const segment of segments) {
    if (segment === "") return { rule: "empty-segment", message: "path must not contain empty segments ('//')" };
    if (segment === "." || segment === "..")
      return { rule: "dot-segment", message: `path must not contain '${segment}' segments` };
    if (!SEGMENT_CHARS.test(segment))
      return { rule: "path-chars", message: `path segment "${segment}" may contain only letters, digits, '.', '-' and '_'` };
  }
  return undefined;
}

/** Parse without throwing; the error names the spec rule that failed. */
export function tryParseSpiffeId(input: string): SpiffeIdResult {
  if (input.length === 0) return fail("empty", "SPIFFE ID must not be empty");
  if (Buffer.byteLength(input) > MAX_SPIFFE_ID_BYTES)
    return fail("too-long", `SPIFFE ID is longer than ${MAX_SPIFFE_ID_BYTES} bytes`);
  if (!input.startsWith(SCHEME)) {
    if (input.slice(0, SCHEME.length).toLowerCase() === SCHEME)
      return fail("scheme-case", 'scheme must be lowercase "spiffe"');
    return fail("scheme", 'SPIFFE ID must start with "spiffe://"');
  }
  if (input.includes("?") || input.includes("#"))
    return fail("query-or-fragment", "SPIFFE ID must not contain a query or fragment");
  const rest = input.slice(SCHEME.length);
  const slash = rest.indexOf("/");
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? "" : rest.slice(slash);
  const tdProblem = trustDomainProblem(trustDomain);
  if (tdProblem) return fail(tdProblem.rule, tdProblem.message);
  const pProblem = pathProblem(path);
  if (pProblem) return fail(pProblem.rule, pProblem.message);
  return { ok: true, value: Object.freeze({ trustDomain, path, id: input }) };
}

/** Parse a SPIFFE ID; throws {@link SpiffeIdError} naming the broken rule. */
export function parseSpiffeId(input: string): SpiffeId {
  const r = tryParseSpiffeId(input);
  if (!r.ok) throw r.error;
  return r.value;
}

/**
 * Build the string `spiffe://<trustDomain>/<path>`; `path` may be given with or without its
 * leading "/". Throws {@link SpiffeIdError} when the result would be invalid.
 */
export function spiffeIdFor(trustDomain: string, path: string): string {
  const normalized = path === "" || path.startsWith("/") ? path : `/${path}`;
  return parseSpiffeId(`${SCHEME}${trustDomain}${normalized}`).id;
}
