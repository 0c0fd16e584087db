/** sluice.yaml, field by field; derived values and cross-field rules are in resolve.ts. */
import { boolean, enumOf, integer, object, optional, string } from "../schema/index.ts";

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
    kernel: optional(object({ enabled: optional(boolean()) }, { what: "kernel" })),
    log: optional(object({ level: optional(enumOf(["debug", "info", "warn", "error"], { what: "log level" })), format: optional(enumOf(["json", "text"], { what: "log format" })) }, { what: "log" })),
    audit: optional(object({ file: optional(absolutePath) }, { what: "audit" })),
    policy: optional(object({ reloadDebounceMs: optional(integer({ min: 10, max: 10_000, what: "reloadDebounceMs" })) }, { what: "policy" })),
  },
  { what: "sluice.yaml" },
);
