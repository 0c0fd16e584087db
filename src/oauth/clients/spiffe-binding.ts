/**
 * The `spiffe_id` client metadata: an exact SPIFFE ID, or a prefix ending in `/*` that matches
 * every ID below that path (`spiffe://td/agents/*` matches `spiffe://td/agents/a` and
 * `spiffe://td/agents/a/b`, not `spiffe://td/agents` or `spiffe://td/agentsX`).
 */
import { tryParseSpiffeId } from "../../identity/index.ts";
import type { BundleSource } from "../../spiffe/index.ts";
import { OAuthError } from "../types.ts";

export interface SpiffeBinding {
  /** The text as registered (`spiffe://td/path` or `spiffe://td/path/*`). */
  readonly text: string;
  readonly trustDomain: string;
  readonly prefix: boolean;
}

/** Throws OAuthError("invalid_client_metadata") naming the problem. `bundles` decides which trust domains are known. */
export function parseSpiffeBinding(value: unknown, bundles: BundleSource): SpiffeBinding {
  if (typeof value !== "string" || value === "") throw bad("spiffe_id must be a SPIFFE ID string");
  const prefix = value.endsWith("/*");
  const id = tryParseSpiffeId(prefix ? value.slice(0, -2) : value);
  if (!id.ok) throw bad(`spiffe_id ${JSON.stringify(value.slice(0, 100))} is not a valid SPIFFE ID${prefix ? " prefix" : ""}: ${id.error.message}`);
  if (prefix && id.value.path === "") throw bad("spiffe_id: a prefix must name a path (spiffe://td/path/*); a whole trust domain is too wide");
  if (!bundles.get(id.value.trustDomain))
    throw bad(`spiffe_id: trust domain ${id.value.trustDomain} is neither sluice's own nor a federated one`);
  return { text: value, trustDomain: id.value.trustDomain, prefix };
}

export function bindingMatches(binding: string, spiffeId: string): boolean {
  if (!binding.endsWith("/*")) return binding === spiffeId;
  const base = binding.slice(0, -1); // keeps the trailing "/"
  return spiffeId.startsWith(base) && spiffeId.length > base.length;
}

function bad(description: string): OAuthError {
  return new OAuthError("invalid_client_metadata", description);
}
