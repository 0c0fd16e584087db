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
    proxy: optional(object({ listen: optional(hostPort), explicit: optional(hostPort), upstreamCaFile: optional(absolutePath) }, { what: "proxy" })),
    metrics: optional(object({ listen: optional(hostPort) }, { what: "metrics" })),
    kernel: optional(
      object(
        {
          enabled: optional(boolean()),
          cgroup: optional(absolutePath),
          pinDir: optional(absolutePath),
          rescanInterval: optional(duration("kernel.rescanInterval", 1, 3_600)),
          interfaces: optional(list(string({ what: "interface name", maxLength: 15, pattern: /^[^\s/:]+$/, hint: "an interface name like eth0" }), { max: 256, what: "interface" })),
        },
        { what: "kernel" },
      ),
    ),
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
    oauth: optional(
      object(
        {
          accessTokenTtl: optional(duration("oauth.accessTokenTtl", 30, 86_400)),
          refreshTokenTtl: optional(duration("oauth.refreshTokenTtl", 60, 365 * 86_400)),
          codeTtl: optional(duration("oauth.codeTtl", 10, 600)),
          idTokenTtl: optional(duration("oauth.idTokenTtl", 30, 86_400)),
          signingKeyTtl: optional(duration("oauth.signingKeyTtl", 3_600, 365 * 86_400)),
          clientIdleExpiry: optional(duration("oauth.clientIdleExpiry", 3_600, 10 * 365 * 86_400)),
          mtlsListen: optional(hostPort),
        },
        { what: "oauth" },
      ),
    ),
    users: optional(
      object(
        {
          spiffeIdTemplate: optional(string({ what: "user SPIFFE ID template", maxLength: 2048, pattern: /^spiffe:\/\/\{trustDomain\}\/.*\{name\}/, hint: "e.g. spiffe://{trustDomain}/user/{name}" })),
          sessionIdle: optional(duration("users.sessionIdle", 60, 30 * 86_400)),
          sessionAbsolute: optional(duration("users.sessionAbsolute", 300, 90 * 86_400)),
          enrollmentTtl: optional(duration("users.enrollmentTtl", 60, 7 * 86_400)),
        },
        { what: "users" },
      ),
    ),
    broker: optional(object({ refreshAhead: optional(duration("broker.refreshAhead", 5, 86_400)) }, { what: "broker" })),
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
