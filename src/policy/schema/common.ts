/** Field schemas shared by several kinds: names, labels, durations, paths, ports, SPIFFE IDs. */
import { tryParseSpiffeId, spiffeIdFor, SpiffeIdError } from "../../identity/index.ts";
import * as s from "../../schema/index.ts";
import type { Labels, Metadata, PortRange } from "../types.ts";

export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export const name = s.string({
  what: "name",
  maxLength: 63,
  check: (v) =>
    DNS_LABEL.test(v)
      ? undefined
      : `invalid name ${JSON.stringify(v)}: use lowercase letters, digits and '-', starting and ending with a letter or digit${
          DNS_LABEL.test(v.toLowerCase().replaceAll("_", "-")) ? ` (did you mean "${v.toLowerCase().replaceAll("_", "-")}"?)` : ""
        }`,
});

const LABEL_KEY = /^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

export const labelKey = s.string({ what: "label key", maxLength: 317, pattern: LABEL_KEY, hint: "use letters, digits, '-', '_' and '.', optionally prefixed by `domain/`" });
export const labelValue = s.string({ what: "label value", maxLength: 63, pattern: LABEL_VALUE, hint: "use letters, digits, '-', '_' and '.' (at most 63)" });
export const labels: s.Schema<Labels> = s.stringMap(labelValue, { key: labelKey, what: "label" });
/** A non-empty label selector (AND of pairs). */
export const labelSelector: s.Schema<Labels> = s.stringMap(labelValue, { key: labelKey, min: 1, what: "label" });

export const metadata: s.ObjectSchema<{
  name: s.Field<s.Located<string>>;
  labels: s.Field<Labels>;
  annotations: s.Field<Labels>;
}> = s.object(
  {
    name: s.required(s.located(name)),
    labels: s.withDefault(labels, {}),
    annotations: s.withDefault(s.stringMap(s.string({ minLength: 0, maxLength: 65_536 }), { key: labelKey, what: "annotation" }), {}),
  },
  { what: "metadata" },
);
export type MetadataValue = { name: s.Located<string>; labels: Labels; annotations: Labels };
export function toMetadata(m: MetadataValue): Metadata {
  return { name: m.name.value, labels: m.labels, annotations: m.annotations };
}

// --- durations: see ../../schema/duration.ts -------------------------------------------------

export { duration, formatDuration, parseDuration } from "../../schema/index.ts";

// --- paths and names ---------------------------------------------------------------------------

/** Why `p` is not a canonical absolute path (what /proc/PID/exe or a cgroup path looks like). */
export function absolutePathProblem(p: string, what: string): string | undefined {
  if (!p.startsWith("/")) return `${what} must be an absolute path (starting with '/'), got ${JSON.stringify(p)}`;
  if (p.includes("\0")) return `${what} must not contain NUL`;
  if (p.length > 1 && p.endsWith("/")) return `${what} must not end with '/'`;
  if (/\/\/|\/\.\.?(\/|$)/.test(p)) return `${what} must be canonical (no '//', '/./' or '/../'), got ${JSON.stringify(p)}`;
  return undefined;
}

export function absolutePath(what: string): s.Schema<string> {
  return s.string({ what, check: (v) => absolutePathProblem(v, what) });
}

// --- ports ---------------------------------------------------------------------------------------

export const port = s.integer({ min: 1, max: 65_535, what: "port" });
const RANGE = /^(\d{1,5})-(\d{1,5})$/;

const portRangeFromString = s.string({
  what: "port range",
  check: (v) => {
    const m = RANGE.exec(v);
    if (!m) return `invalid port range ${JSON.stringify(v)}: expected a port number or "N-M", e.g. "8000-8100"`;
    const [from, to] = [Number(m[1]), Number(m[2])];
    if (from < 1 || to > 65_535) return `port range ${v} is out of range 1-65535`;
    if (from > to) return `port range ${v} is reversed (did you mean "${to}-${from}"?)`;
    return undefined;
  },
});

/** `443` or `"8000-8100"`. */
export const portSpec: s.Schema<PortRange> = s.byShape<PortRange>('port (1-65535) or range "N-M"', [
  {
    accepts: (n) => "value" in n && typeof (n as { value: unknown }).value === "number",
    schema: s.refine(port, (p) => ({ from: p, to: p })),
  },
  {
    accepts: (n) => "value" in n && typeof (n as { value: unknown }).value === "string",
    schema: s.refine(portRangeFromString, (v) => {
      const [from, to] = v.split("-").map(Number) as [number, number];
      return { from, to };
    }),
  },
]);

// --- SPIFFE IDs ----------------------------------------------------------------------------------

/** Any valid SPIFFE ID (a peer or a user may live in another trust domain). */
export const spiffeId: s.Schema<string> = s.refine(s.string({ what: "SPIFFE ID", maxLength: 4096 }), (v, node, ctx) => {
  const r = tryParseSpiffeId(v);
  if (r.ok) return r.value.id;
  ctx.error(node, `invalid SPIFFE ID ${JSON.stringify(v)}: ${r.error.message}`, "policy.spiffe-id");
  return s.INVALID;
});

/** Path prefixes of the trust domain that workloads must not claim. */
export const RESERVED_WORKLOAD_PREFIXES = ["user"] as const;

/**
 * A workload ID: a path (`claude`, `agents/claude`) in the trust domain, or a full SPIFFE ID that
 * must be in the trust domain. Yields the full SPIFFE ID.
 */
export function workloadId(trustDomain: string): s.Schema<string> {
  return s.refine(s.string({ what: "workloadID", maxLength: 2048 }), (v, node, ctx) => {
    let id: string;
    if (v.toLowerCase().startsWith("spiffe:")) {
      const r = tryParseSpiffeId(v);
      if (!r.ok) return fail(`invalid SPIFFE ID ${JSON.stringify(v)}: ${r.error.message}`);
      if (r.value.trustDomain !== trustDomain)
        return fail(`workloadID ${JSON.stringify(v)} is outside the trust domain "${trustDomain}"; write the path alone (e.g. \`${r.value.path.slice(1) || "name"}\`)`);
      id = r.value.id;
    } else if (v.includes("://")) {
      return fail(`invalid workloadID ${JSON.stringify(v)}: write a path like \`claude\` or a SPIFFE ID starting with spiffe://`);
    } else {
      try {
        id = spiffeIdFor(trustDomain, v);
      } catch (e) {
        if (!(e instanceof SpiffeIdError)) throw e;
        return fail(`invalid workloadID ${JSON.stringify(v)}: ${e.message}`);
      }
    }
    const path = id.slice(`spiffe://${trustDomain}`.length);
    if (path === "") return fail(`workloadID ${JSON.stringify(v)} has no path; the bare trust domain ID belongs to sluice itself`);
    const first = path.split("/")[1]!;
    if ((RESERVED_WORKLOAD_PREFIXES as readonly string[]).includes(first))
      return fail(`workloadID ${JSON.stringify(v)} is reserved: spiffe://${trustDomain}/${first}/… identifies people, not workloads`);
    return id;

    function fail(message: string): s.Invalid {
      ctx.error(node, message, "policy.spiffe-id");
      return s.INVALID;
    }
  });
}
