/**
 * Service.spec: a destination by address:port, with labels that egress rules and bindings select.
 * `tls` defaults to `intercept` when an address uses port 443 (so credentials can be injected),
 * otherwise `passthrough` (sluice relays bytes and sees no requests).
 * `inbound.onlyThroughSluice: true` marks a Service that runs on this host as reachable only
 * through sluice: the kernel (XDP) drops TCP/UDP packets arriving on the host's interfaces for its
 * ports unless their source is in `inbound.allowFrom`.
 */
import * as s from "../../schema/index.ts";
import { canonicalHost, hostnameProblem } from "../net/host.ts";
import type { ServiceAddress, ServiceInbound, ServiceSpec, TlsMode } from "../types.ts";
import { labels, port, spiffeId } from "./common.ts";
import { cidr } from "./egress.ts";

const address = s.refine(s.string({ what: "address", maxLength: 300 }), (v, node, ctx) => {
  const h = canonicalHost(v);
  if (h) return h;
  let why: string;
  if (v.includes("://")) why = `address ${JSON.stringify(v)} must be a host name or IP address, not a URL`;
  else if (/^[^:]+:\d+$/.test(v) || /^\[.*\]:\d+$/.test(v)) why = `address ${JSON.stringify(v)} must not include a port; use \`port\``;
  else why = hostnameProblem((v.endsWith(".") ? v.slice(0, -1) : v).toLowerCase()) ?? `invalid address ${JSON.stringify(v)}`;
  ctx.error(node, why, "policy.address");
  return s.INVALID;
});

const serviceAddress: s.Schema<ServiceAddress> = s.refine(
  s.object({ address: s.required(address), port: s.required(port) }, { what: "service address" }),
  (v) => ({ address: v.address.value, kind: v.address.kind, port: v.port }),
);

const inbound: s.Schema<ServiceInbound> = s.refine(
  s.object(
    {
      onlyThroughSluice: s.required(s.boolean()),
      allowFrom: s.withDefault(s.list(cidr, { max: 256, what: "CIDR" }), []),
    },
    {
      what: "inbound",
      check(v, at, ctx) {
        if (!v.onlyThroughSluice && v.allowFrom.length > 0)
          ctx.warning(at.key("allowFrom"), "allowFrom only matters with `onlyThroughSluice: true`", "policy.unused-field");
      },
    },
  ),
  (v) => ({ onlyThroughSluice: v.onlyThroughSluice, allowFrom: v.allowFrom.map((c) => c.text) }),
);

const spec = s.object(
  {
    addresses: s.required(s.list(serviceAddress, { min: 1, max: 256, what: "address" })),
    labels: s.withDefault(labels, {}),
    external: s.withDefault(s.boolean(), false),
    tls: s.optional(s.enumOf(["intercept", "passthrough", "upgrade"], { what: "tls mode" })),
    spiffeID: s.optional(spiffeId),
    inbound: s.optional(inbound),
  },
  {
    what: "Service spec",
    check(v, at, ctx) {
      if (v.spiffeID !== undefined && v.tls !== "upgrade")
        ctx.warning(at.key("spiffeID"), "spiffeID is only checked with `tls: upgrade` (sluice dials the peer with mTLS)", "policy.unused-field");
    },
  },
);

export function defaultTls(addresses: readonly ServiceAddress[]): TlsMode {
  return addresses.some((a) => a.port === 443) ? "intercept" : "passthrough";
}

export const serviceSpec: s.Schema<ServiceSpec> = s.refine(spec, (v) => ({
  addresses: v.addresses,
  labels: v.labels,
  external: v.external,
  tls: v.tls ?? defaultTls(v.addresses),
  ...(v.spiffeID !== undefined ? { spiffeID: v.spiffeID } : {}),
  ...(v.inbound !== undefined ? { inbound: v.inbound } : {}),
}));
