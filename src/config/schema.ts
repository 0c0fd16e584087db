/** sluice.yaml, field by field; derived values and cross-field rules are in resolve.ts. */
import { boolean, duration, enumOf, integer, list, object, optional, required, string } from "../schema/index.ts";

const hostPort = string({ what: "address", maxLength: 300, pattern: /^(\[[0-9a-fA-F:.]+\]|[^\s:\[\]]+):\d{1,5}$/, hint: "use host:port, e.g. 127.0.0.1:8443 or [::1]:8443" });
const absolutePath = string({ what: "path", pattern: /^\//, hint: "use an absolute path" });

export const configSchema = object(
  {
    trustDomain: optional(string({ what: "trust domain", maxLength: 255 })),
    issuer: optional(string({ what: "issuer URL", maxLength: 2048 })),
    listen: optional(hostPort),
    tls: optional(object({ certFile: optional(absolutePath), keyFile: optional(absolutePath) }, { what: "tls" })),
    dataDir: optional(absolutePath),
    policyDir: optional(absolutePath),
    workloadSocket: optional(absolutePath),
    proxy: optional(object({ listen: optional(hostPort), explicit: optional(hostPort) }, { what: "proxy" })),
    metrics: optional(object({ listen: optional(hostPort) }, { what: "metrics" })),
    kernel: optional(object({ enabled: optional(boolean()), cgroup: optional(absolutePath), pinDir: optional(absolutePath) }, { what: "kernel" })),
    log: optional(object({ level: optional(enumOf(["debug", "info", "warn", "error"], { what: "log level" })), format: optional(enumOf(["json", "text"], { what: "log format" })) }, { what: "log" })),
    audit: optional(object({ file: optional(absolutePath) }, { what: "audit" })),
    policy: optional(object({ reloadDebounceMs: optional(integer({ min: 10, max: 10_000, what: "reloadDebounceMs" })) }, { what: "policy" })),
    ca: optional(
      object(
        {
          ttl: optional(duration("ca.ttl", 3_600, 10 * 365 * 86_400)),
          overlap: optional(duration("ca.overlap", 60, 5 * 365 * 86_400)),
          intermediateCertFile: optional(absolutePath),
          intermediateKeyFile: optional(absolutePath),
        },
        { what: "ca" },
      ),
    ),
    federation: optional(
      list(
        object(
          {
            trustDomain: required(string({ what: "trust domain", maxLength: 255 })),
            bundleFile: optional(absolutePath),
            bundleEndpoint: optional(string({ what: "bundle endpoint URL", maxLength: 2048, pattern: /^https:\/\//, hint: "use an https:// URL" })),
          },
          {
            what: "federation entry",
            check(v, at, ctx) {
              if ((v.bundleFile === undefined) === (v.bundleEndpoint === undefined)) {
                ctx.error(at.map, "set exactly one of `bundleFile` and `bundleEndpoint`", "config.federation");
                return false;
              }
            },
          },
        ),
        { max: 64, what: "federated trust domain" },
      ),
    ),
  },
  { what: "sluice.yaml" },
);
