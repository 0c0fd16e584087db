/**
 * Malformed policies: each case pins the exact file:line:col, severity and message of what it
 * must report, and the number of errors (so a case cannot pass by accident on a different error).
 */
import { describe, expect, test } from "bun:test";
import { HEAD, MIN_SELECTORS, bind, formatted, src, svc, wi } from "./helpers.ts";

interface Case {
  name: string;
  files: Record<string, string>;
  /** Each: "file:line:col: severity: message substring". */
  expect: string[];
  /** Total errors expected (default: the number of `error` expectations). */
  errors?: number;
  /** Total warnings expected, when the case is about their absence. */
  warnings?: number;
}

const BIND_OK = "  credentialSource: creds\n  workloadID: claude\n  propagation:\n    injection:\n      selectors: [{app: api}]\n";
const SVC_OK = svc("  addresses: [{address: api.example.com, port: 443}]\n  labels: {app: api}\n");
const SRC_OK = src("  jwtSVID: {audience: [https://api.example.com]}\n");
const WI_OK = wi(MIN_SELECTORS + "  workloadID: claude\n");

const cases: Case[] = [
  // --- YAML itself -------------------------------------------------------------------------
  {
    name: "YAML syntax error (unclosed flow mapping)",
    files: { "a.yaml": "apiVersion: sluice/v1alpha1\nkind: Service\nmetadata: {name: x\nspec: {}\n" },
    expect: ["a.yaml:4:1: error: Flow map in block collection must be sufficiently indented and end with a }"],
  },
  {
    name: "YAML syntax error (unclosed flow sequence)",
    files: { "a.yaml": svc("  addresses: [{address: a.example.com, port: 443}\n  labels: {a: b}\n") },
    expect: ["a.yaml:6:3: error: Flow sequence in block collection must be sufficiently indented and end with a ]"],
  },
  {
    name: "YAML syntax error (unterminated quote)",
    files: { "a.yaml": 'apiVersion: sluice/v1alpha1\nkind: "Service\nmetadata: {name: x}\n' },
    expect: ['a.yaml:4:1: error: Missing closing "quote'],
  },
  {
    name: "tab indentation",
    files: { "a.yaml": "apiVersion: sluice/v1alpha1\nkind: Service\nmetadata:\n\tname: x\n" },
    expect: ["a.yaml:4:1: error: tabs are not allowed for indentation; use spaces"],
    errors: 1,
  },
  {
    name: "duplicate YAML key names both positions",
    files: { "a.yaml": HEAD("Service", "api").replace("kind: Service\n", "kind: Service\nkind: Service\n") + "  addresses: [{address: a.example.com, port: 443}]\n" },
    expect: ['a.yaml:3:1: error: duplicate key "kind" (first defined at line 2:1)'],
  },
  {
    name: "document that is a list",
    files: { "a.yaml": "- apiVersion: sluice/v1alpha1\n" },
    expect: ["a.yaml:1:1: error: a policy document must be a mapping with apiVersion, kind, metadata and spec"],
  },
  // --- envelope --------------------------------------------------------------------------------
  {
    name: "unknown kind with did-you-mean",
    files: { "a.yaml": "apiVersion: sluice/v1alpha1\nkind: Servise\nmetadata: {name: x}\nspec: {}\n" },
    expect: ['a.yaml:2:7: error: unknown kind "Servise" (expected one of WorkloadIdentity, Service, CredentialSource, CredentialBinding, HostPolicy); did you mean `Service`?'],
  },
  {
    name: "missing kind",
    files: { "a.yaml": "apiVersion: sluice/v1alpha1\nmetadata: {name: x}\nspec: {}\n" },
    expect: ["a.yaml:1:1: error: missing required field `kind` in policy document"],
  },
  {
    name: "wrong apiVersion",
    files: { "a.yaml": SVC_OK.replace("sluice/v1alpha1", "sluice/v1") },
    expect: ['a.yaml:1:13: error: unsupported apiVersion "sluice/v1" (expected sluice/v1alpha1)'],
  },
  {
    name: "missing apiVersion",
    files: { "a.yaml": SVC_OK.replace("apiVersion: sluice/v1alpha1\n", "") },
    expect: ["a.yaml:1:1: error: missing required field `apiVersion` in policy document"],
  },
  {
    name: "missing metadata.name",
    files: { "a.yaml": SVC_OK.replace("metadata: {name: api}", "metadata: {labels: {a: b}}") },
    expect: ["a.yaml:3:11: error: missing required field `name` in metadata"],
  },
  {
    name: "uppercase metadata.name with suggestion",
    files: { "a.yaml": SVC_OK.replace("{name: api}", "{name: My_API}") },
    expect: ['a.yaml:3:18: error: invalid name "My_API": use lowercase letters, digits and \'-\', starting and ending with a letter or digit (did you mean "my-api"?)'],
  },
  {
    name: "missing spec",
    files: { "a.yaml": "apiVersion: sluice/v1alpha1\nkind: Service\nmetadata: {name: api}\n" },
    expect: ["a.yaml:1:1: error: missing required field `spec` in Service"],
  },
  // --- unknown fields and wrong types ------------------------------------------------------------
  {
    name: "`selector` → did you mean `selectors` (and selectors is then missing)",
    files: { "a.yaml": wi("  workloadID: claude\n  selector: [{process:uid: 1000}]\n") },
    expect: ["a.yaml:5:3: error: missing required field `selectors` in WorkloadIdentity spec", "a.yaml:6:3: error: unknown field `selector` in WorkloadIdentity spec; did you mean `selectors`?"],
  },
  {
    name: "`egres` → did you mean `egress`",
    files: { "a.yaml": WI_OK + "  egres: []\n" },
    expect: ["a.yaml:7:3: error: unknown field `egres` in WorkloadIdentity spec; did you mean `egress`?"],
  },
  {
    name: "unknown field without a close match lists the fields",
    files: { "a.yaml": svc("  addresses: [{address: a.example.com, port: 443}]\n  colour: blue\n") },
    expect: ["a.yaml:6:3: error: unknown field `colour` in Service spec (expected one of addresses, labels, external, tls, spiffeID, inbound)"],
  },
  {
    name: "string where a port integer is expected",
    files: { "a.yaml": svc('  addresses: [{address: a.example.com, port: "443"}]\n') },
    expect: ['a.yaml:5:46: error: expected integer, got string "443"'],
  },
  {
    name: "map where a list is expected",
    files: { "a.yaml": wi("  workloadID: claude\n  selectors: {process:uid: 1000}\n") },
    expect: ["a.yaml:6:14: error: expected list, got map"],
  },
  {
    name: "unknown enum value with did-you-mean",
    files: { "a.yaml": WI_OK + "  enforcement: enfroce\n" },
    expect: ['a.yaml:7:16: error: unknown enforcement "enfroce" (expected one of enforce, audit); did you mean `enforce`?'],
  },
  {
    name: "boolean field given a string",
    files: { "a.yaml": svc("  addresses: [{address: a.example.com, port: 443}]\n  external: yes\n") },
    expect: ['a.yaml:6:13: error: expected boolean (true or false), got string "yes"'],
  },
  // --- egress rules ------------------------------------------------------------------------------
  {
    name: "bad CIDR",
    files: { "a.yaml": WI_OK + "  egress:\n    - cidr: 10.0.0/8\n" },
    expect: ['a.yaml:8:13: error: invalid CIDR "10.0.0/8": "10.0.0" is not an IPv4 or IPv6 address'],
  },
  {
    name: "CIDR with host bits set suggests the network",
    files: { "a.yaml": WI_OK + "  egress:\n    - cidr: 10.0.0.1/8\n" },
    expect: ['a.yaml:8:13: error: host bits set in "10.0.0.1/8"; did you mean 10.0.0.0/8?'],
  },
  {
    name: "IPv6 CIDR prefix too long",
    files: { "a.yaml": WI_OK + "  egress:\n    - cidr: 2001:db8::/129\n" },
    expect: ['a.yaml:8:13: error: invalid CIDR "2001:db8::/129": prefix length must be 0-128'],
  },
  {
    name: "port 0",
    files: { "a.yaml": WI_OK + "  egress:\n    - host: a.example.com\n      ports: [0]\n" },
    expect: ["a.yaml:9:15: error: port 0 is out of range 1-65535"],
  },
  {
    name: "port 70000",
    files: { "a.yaml": WI_OK + "  egress:\n    - host: a.example.com\n      ports: [443, 70000]\n" },
    expect: ["a.yaml:9:20: error: port 70000 is out of range 1-65535"],
  },
  {
    name: "reversed port range",
    files: { "a.yaml": WI_OK + '  egress:\n    - host: a.example.com\n      ports: ["9000-8000"]\n' },
    expect: ['a.yaml:9:15: error: port range 9000-8000 is reversed (did you mean "8000-9000"?)'],
  },
  {
    name: "malformed port range",
    files: { "a.yaml": WI_OK + '  egress:\n    - host: a.example.com\n      ports: ["80-"]\n' },
    expect: ['a.yaml:9:15: error: invalid port range "80-": expected a port number or "N-M", e.g. "8000-8100"'],
  },
  {
    name: "egress rule with two targets",
    files: { "a.yaml": WI_OK + "  egress:\n    - cidr: 10.0.0.0/8\n      host: a.example.com\n" },
    expect: ["a.yaml:9:7: error: `host` cannot be combined with `cidr` in one egress rule; write two rules"],
  },
  {
    name: "egress rule with no target",
    files: { "a.yaml": WI_OK + "  egress:\n    - ports: [443]\n" },
    expect: ["a.yaml:8:7: error: egress rule needs exactly one of `services`, `cidr` or `host`"],
  },
  {
    name: "ports on a services rule",
    files: { "a.yaml": WI_OK + "  egress:\n    - services: {app: api}\n      ports: [443]\n" },
    expect: ["a.yaml:9:7: error: `ports` cannot be used with `services`: the ports come from the Service addresses"],
  },
  {
    name: "host rule given an IP address",
    files: { "a.yaml": WI_OK + "  egress:\n    - host: 10.1.2.3\n" },
    expect: ['a.yaml:8:13: error: host "10.1.2.3" is an IP address; use `cidr: 10.1.2.3/32`'],
  },
  {
    name: "unknown protocol",
    files: { "a.yaml": WI_OK + "  egress:\n    - host: a.example.com\n      protocol: icmp\n" },
    expect: ['a.yaml:9:17: error: unknown protocol "icmp" (expected one of tcp, udp, any)'],
  },
  // --- durations --------------------------------------------------------------------------------
  {
    name: "malformed duration",
    files: { "a.yaml": WI_OK + "  svid: {x509TTL: 5 minutes}\n" },
    expect: ['a.yaml:7:19: error: invalid x509TTL "5 minutes": use a duration like 90s, 5m, 1h or 1h30m'],
  },
  {
    name: "duration below the minimum",
    files: { "a.yaml": WI_OK + "  svid: {jwtTTL: 10s}\n" },
    expect: ["a.yaml:7:18: error: jwtTTL 10s is below the minimum 30s"],
  },
  {
    name: "duration above the maximum",
    files: { "a.yaml": WI_OK + "  svid: {x509TTL: 31d}\n" },
    expect: ["a.yaml:7:19: error: x509TTL 31d is above the maximum 30d"],
  },
  // --- SPIFFE IDs -------------------------------------------------------------------------------
  {
    name: "humanID with uppercase scheme",
    files: { "a.yaml": bind(BIND_OK + "  humanID: SPIFFE://sluice.local/user/alice\n"), "b.yaml": SVC_OK + "---\n" + SRC_OK + "---\n" + WI_OK },
    expect: ['a.yaml:10:12: error: invalid SPIFFE ID "SPIFFE://sluice.local/user/alice": scheme must be lowercase "spiffe"'],
  },
  {
    name: "humanID with a port in the trust domain",
    files: { "a.yaml": bind(BIND_OK + "  humanID: spiffe://sluice.local:8443/user/alice\n"), "b.yaml": SVC_OK + "---\n" + SRC_OK + "---\n" + WI_OK },
    expect: ['a.yaml:10:12: error: invalid SPIFFE ID "spiffe://sluice.local:8443/user/alice": trust domain must not contain a port'],
  },
  {
    name: "workloadID with a `..` segment",
    files: { "a.yaml": wi("  workloadID: agents/../claude\n" + MIN_SELECTORS) },
    expect: ["a.yaml:5:15: error: invalid workloadID \"agents/../claude\": path must not contain '..' segments"],
  },
  {
    name: "workloadID with a trailing slash",
    files: { "a.yaml": wi("  workloadID: claude/\n" + MIN_SELECTORS) },
    expect: ["a.yaml:5:15: error: invalid workloadID \"claude/\": path must not end with '/'"],
  },
  {
    name: "workloadID with percent-encoding",
    files: { "a.yaml": wi("  workloadID: cla%2Fude\n" + MIN_SELECTORS) },
    expect: ['a.yaml:5:15: error: invalid workloadID "cla%2Fude": path must not contain percent-encoded characters'],
  },
  {
    name: "full workloadID in another trust domain",
    files: { "a.yaml": wi("  workloadID: spiffe://other.org/claude\n" + MIN_SELECTORS) },
    expect: ['a.yaml:5:15: error: workloadID "spiffe://other.org/claude" is outside the trust domain "sluice.local"; write the path alone (e.g. `claude`)'],
  },
  {
    name: "workloadID under the reserved user/ prefix",
    files: { "a.yaml": wi("  workloadID: user/alice\n" + MIN_SELECTORS) },
    expect: ['a.yaml:5:15: error: workloadID "user/alice" is reserved: spiffe://sluice.local/user/… identifies people, not workloads'],
  },
  {
    name: "Service spiffeID with a query",
    files: { "a.yaml": svc("  addresses: [{address: a.example.com, port: 80}]\n  tls: upgrade\n  spiffeID: spiffe://sluice.local/x?y=1\n") },
    expect: ['a.yaml:7:13: error: invalid SPIFFE ID "spiffe://sluice.local/x?y=1": SPIFFE ID must not contain a query or fragment'],
  },
  // --- selectors ---------------------------------------------------------------------------------
  {
    name: "bad sha256",
    files: { "a.yaml": wi("  workloadID: claude\n  selectors:\n    - process:binary:sha256: abc123\n") },
    expect: ['a.yaml:7:30: error: invalid sha256 "abc123": expected 64 hex characters (sha256sum of the binary)'],
  },
  {
    name: "relative binary path",
    files: { "a.yaml": wi("  workloadID: claude\n  selectors:\n    - process:binary:path: bin/claude\n") },
    expect: ['a.yaml:7:28: error: process:binary:path must be an absolute path (starting with \'/\'), got "bin/claude"'],
  },
  {
    name: "non-canonical binary path",
    files: { "a.yaml": wi("  workloadID: claude\n  selectors:\n    - process:binary:path: /usr/local/../bin/claude\n") },
    expect: ["a.yaml:7:28: error: process:binary:path must be canonical (no '//', '/./' or '/../')"],
  },
  {
    name: "empty selectors entry",
    files: { "a.yaml": wi("  workloadID: claude\n  selectors:\n    - {}\n") },
    expect: ["a.yaml:7:7: error: empty selector would match every process; add at least one key (e.g. process:binary:path)"],
  },
  {
    name: "no selectors at all",
    files: { "a.yaml": wi("  workloadID: claude\n  selectors: []\n") },
    expect: ["a.yaml:6:14: error: at least one selector is required"],
  },
  {
    name: "unknown selector key with did-you-mean",
    files: { "a.yaml": wi("  workloadID: claude\n  selectors:\n    - process:binary_path: /usr/bin/x\n") },
    expect: ["a.yaml:7:7: error: unknown field `process:binary_path` in selector; did you mean `process:binary:path`?"],
  },
  {
    name: "process:name longer than comm",
    files: { "a.yaml": wi("  workloadID: claude\n  selectors:\n    - process:uid: 1000\n      process:name: claude-code-agent\n") },
    expect: ['a.yaml:8:21: error: process:name "claude-code-agent" is 17 bytes; the kernel keeps at most 15 (comm), so it can never match'],
  },
  {
    name: "systemd unit without a suffix",
    files: { "a.yaml": wi("  workloadID: claude\n  selectors:\n    - systemd:unit: claude\n") },
    expect: ['a.yaml:7:21: error: invalid systemd:unit "claude": did you mean "claude.service"?'],
  },
  {
    name: "negative uid",
    files: { "a.yaml": wi("  workloadID: claude\n  selectors:\n    - process:uid: [1000, -1]\n") },
    expect: ["a.yaml:7:27: error: uid -1 is out of range 0-4294967294"],
  },
  // --- Service --------------------------------------------------------------------------------------
  {
    name: "Service address with the port inside",
    files: { "a.yaml": svc("  addresses: [{address: \"api.example.com:443\", port: 443}]\n") },
    expect: ['a.yaml:5:25: error: address "api.example.com:443" must not include a port; use `port`'],
  },
  {
    name: "Service address with a wildcard",
    files: { "a.yaml": svc('  addresses: [{address: "*.example.com", port: 443}]\n') },
    expect: ['a.yaml:5:25: error: wildcards are not supported in "*.example.com": sluice resolves host names to addresses; list each name'],
  },
  {
    name: "Service without addresses",
    files: { "a.yaml": svc("  labels: {app: api}\n") },
    expect: ["a.yaml:5:3: error: missing required field `addresses` in Service spec"],
  },
  {
    name: "label value with a space",
    files: { "a.yaml": svc('  addresses: [{address: a.example.com, port: 443}]\n  labels: {app: "my api"}\n') },
    expect: ['a.yaml:6:17: error: invalid label value "my api": use letters, digits, \'-\', \'_\' and \'.\' (at most 63)'],
  },
  // --- CredentialSource ------------------------------------------------------------------------------
  {
    name: "two CredentialSource variants at once",
    files: { "a.yaml": src("  jwtSVID: {audience: [x]}\n  static: {valueFrom: {env: TOKEN}}\n") },
    expect: ["a.yaml:6:3: error: only one of `oauth2AuthorizationCode`, `oauth2ClientCredentials`, `static`, `jwtSVID` may be set; found `jwtSVID` and `static`"],
  },
  {
    name: "zero CredentialSource variants",
    files: { "a.yaml": src("  {}\n") },
    expect: ["a.yaml:5:3: error: CredentialSource spec needs exactly one of `oauth2AuthorizationCode`, `oauth2ClientCredentials`, `static`, `jwtSVID`"],
  },
  {
    name: "misspelled CredentialSource variant",
    files: { "a.yaml": src("  jwtSvid: {audience: [x]}\n") },
    expect: ["a.yaml:5:3: error: unknown field `jwtSvid` in CredentialSource spec; did you mean `jwtSVID`?"],
  },
  {
    name: "http endpoint on a non-loopback host",
    files: { "a.yaml": src("  oauth2ClientCredentials:\n    tokenEndpoint: http://auth.example.com/token\n    clientID: sluice\n    clientSecretFrom: {env: SECRET}\n") },
    expect: ['a.yaml:6:20: error: tokenEndpoint "http://auth.example.com/token" must use https (http is allowed only for loopback hosts)'],
  },
  {
    name: "usePKCE: false",
    files: { "a.yaml": src("  oauth2AuthorizationCode:\n    usePKCE: false\n") },
    expect: ["a.yaml:6:14: error: usePKCE cannot be false: PKCE (S256) is required for every authorization code flow (RFC 9700 §2.1.1)"],
  },
  {
    name: "static format without {value}",
    files: { "a.yaml": src('  static:\n    valueFrom: {file: /etc/sluice/secrets/x}\n    format: "Bearer"\n') },
    expect: ['a.yaml:7:13: error: format must contain {value} exactly once (where the secret goes), e.g. "Bearer {value}"; got "Bearer"'],
  },
  {
    name: "inline clientSecret",
    files: { "a.yaml": src("  oauth2ClientCredentials:\n    tokenEndpoint: https://auth.example.com/token\n    clientID: sluice\n    clientSecret: hunter2\n") },
    expect: [
      "a.yaml:6:5: error: missing required field `clientSecretFrom` in oauth2ClientCredentials",
      "a.yaml:8:5: error: `clientSecret` looks like an inline secret: secrets are never written in policy files; use `clientSecretFrom: {file: /etc/sluice/secrets/NAME}` or `{env: NAME}`",
    ],
  },
  {
    name: "inline value in valueFrom",
    files: { "a.yaml": src("  static:\n    valueFrom: {value: abc}\n") },
    expect: ["a.yaml:6:17: error: `value` looks like an inline secret"],
  },
  {
    name: "a token pasted into clientID",
    files: { "a.yaml": src("  oauth2AuthorizationCode:\n    clientID: ghp_0123456789abcdefghijABCDEFGHIJ\n") },
    expect: ["a.yaml:6:15: error: clientID looks like a GitHub token: secrets are never written in policy files"],
  },
  {
    name: "secret file given as a relative path",
    files: { "a.yaml": src("  static:\n    valueFrom: {file: secrets/gh}\n") },
    expect: ['a.yaml:6:23: error: secret file must be an absolute path (starting with \'/\'), got "secrets/gh"'],
  },
  {
    name: "authorizationEndpoint without tokenEndpoint",
    files: { "a.yaml": src("  oauth2AuthorizationCode:\n    authorizationEndpoint: https://a.example.com/authorize\n") },
    expect: ["a.yaml:6:5: error: set both authorizationEndpoint and tokenEndpoint, or neither"],
  },
  // --- references and duplicates ---------------------------------------------------------------------------
  {
    name: "duplicate Service names report both positions",
    files: { "a.yaml": SVC_OK, "b.yaml": SVC_OK.replace("api.example.com", "b.example.com") },
    expect: ['b.yaml:3:18: error: duplicate Service "api" (first defined at a.yaml:3:18)'],
  },
  {
    name: "duplicate workloadID across WorkloadIdentities",
    files: { "a.yaml": WI_OK + "---\n" + wi("  workloadID: claude\n" + MIN_SELECTORS, "claude-2") },
    expect: ['a.yaml:12:15: error: duplicate workloadID spiffe://sluice.local/claude (also used by WorkloadIdentity "claude" at a.yaml:6:15)'],
  },
  {
    name: "second HostPolicy",
    files: { "a.yaml": HEAD("HostPolicy", "host") + "  unmanaged: deny\n", "b.yaml": HEAD("HostPolicy", "other") + "  unmanaged: allow\n" },
    expect: ["b.yaml:2:7: error: only one HostPolicy is allowed (first defined at a.yaml:2:7)"],
  },
  {
    name: "binding to a missing CredentialSource with did-you-mean",
    files: { "a.yaml": bind(BIND_OK.replace("creds", "cred")), "b.yaml": SVC_OK + "---\n" + SRC_OK + "---\n" + WI_OK },
    expect: ['a.yaml:5:21: error: CredentialSource "cred" not found; did you mean `creds`?'],
  },
  {
    name: "ambiguous bindings for the same workload and Service",
    files: { "a.yaml": bind(BIND_OK) + "---\n" + bind(BIND_OK, "b2"), "b.yaml": SVC_OK + "---\n" + SRC_OK + "---\n" + WI_OK },
    expect: ['a.yaml:13:18: error: CredentialBinding "b2" binds workload spiffe://sluice.local/claude to Service "api", as CredentialBinding "b" (a.yaml:3:18) already does: the credential to inject would be ambiguous'],
  },
  {
    name: "two Services claiming one address with different tls",
    files: { "a.yaml": SVC_OK + "---\n" + svc("  addresses: [{address: API.example.com., port: 443}]\n  tls: passthrough\n", "api-2") },
    expect: ['a.yaml:10:18: error: Service "api-2" claims api.example.com:443 with tls: passthrough, but Service "api" (a.yaml:3:18) claims it with tls: intercept'],
  },
  {
    name: "an invalid WorkloadIdentity is not echoed as 'no WorkloadIdentity has workloadID' warnings",
    files: { "a.yaml": bind(BIND_OK), "b.yaml": SVC_OK + "---\n" + SRC_OK + "---\n" + wi("  workloadID: claude\n  selectors: []\n") },
    expect: ["b.yaml:19:14: error: at least one selector is required"],
    warnings: 0,
  },
  // --- warnings ------------------------------------------------------------------------------------------
  {
    name: "binding selectors matching no Service, workloadID matching no WorkloadIdentity",
    files: { "a.yaml": bind(BIND_OK.replace("workloadID: claude", "workloadID: ghost").replace("{app: api}", "{app: nothing}")) + "---\n" + SRC_OK },
    expect: [
      "a.yaml:6:15: warning: no WorkloadIdentity has workloadID spiffe://sluice.local/ghost; this binding applies to nothing until one does",
      "a.yaml:9:19: warning: no Service has labels {app: nothing}; nothing is injected for this selector",
    ],
    errors: 0,
  },
  {
    name: "weak-only selector",
    files: { "a.yaml": wi("  workloadID: claude\n  selectors:\n    - process:name: claude\n      process:cmdline: claude --yes\n") },
    expect: ["a.yaml:7:7: warning: selector uses only process:name and process:cmdline, which the process itself controls: any process can claim this identity"],
    errors: 0,
  },
  {
    name: "services egress rule matching no Service",
    files: { "a.yaml": WI_OK + "  egress:\n    - services: {app: nope}\n" },
    expect: ["a.yaml:8:7: warning: no Service has labels {app: nope}; this rule allows nothing"],
    errors: 0,
  },
  {
    name: "binding injecting into a passthrough Service",
    files: { "a.yaml": bind(BIND_OK), "b.yaml": SVC_OK.replace("port: 443}]", "port: 5432}]") + "---\n" + SRC_OK + "---\n" + WI_OK },
    expect: ['a.yaml:9:19: warning: Service "api" has tls: passthrough: sluice cannot see its requests, so nothing is injected; set tls: intercept'],
    errors: 0,
  },
  {
    name: "spiffeID without tls: upgrade",
    files: { "a.yaml": svc("  addresses: [{address: a.example.com, port: 443}]\n  spiffeID: spiffe://sluice.local/api\n") },
    expect: ["a.yaml:6:3: warning: spiffeID is only checked with `tls: upgrade`"],
    errors: 0,
  },
  {
    name: "humanID outside the trust domain",
    files: { "a.yaml": bind(BIND_OK + "  humanID: spiffe://acme.corp/user/alice\n"), "b.yaml": SVC_OK + "---\n" + SRC_OK + "---\n" + WI_OK },
    expect: ['a.yaml:10:12: warning: humanID is outside the trust domain "sluice.local"'],
    errors: 0,
  },
  {
    name: "0.0.0.0/0 allows everything",
    files: { "a.yaml": WI_OK + "  egress:\n    - cidr: 0.0.0.0/0\n" },
    expect: ["a.yaml:8:13: warning: 0.0.0.0/0 allows every IPv4 address; prefer the narrowest block that works"],
    errors: 0,
  },
];

describe("malformed policies report exact positions", () => {
  test("the table is large enough", () => {
    expect(cases.filter((c) => c.expect.some((e) => e.includes(": error: "))).length).toBeGreaterThanOrEqual(35);
  });

  for (const c of cases) {
    test(c.name, () => {
      const got = formatted(c.files);
      for (const want of c.expect) {
        // "file:line:col: severity: " must match exactly; the message must contain the rest.
        const [, where, message] = /^(\S+:\d+:\d+: (?:error|warning): )(.*)$/s.exec(want)!;
        const hit = got.find((line) => line.startsWith(where!) && line.slice(where!.length).includes(message!));
        if (!hit) throw new Error(`expected a diagnostic matching\n  ${want}\ngot:\n  ${got.join("\n  ")}`);
      }
      const errors = got.filter((l) => l.includes(": error: ")).length;
      expect(errors).toBe(c.errors ?? c.expect.filter((e) => e.includes(": error: ")).length);
      if (c.warnings !== undefined) expect(got.length - errors).toBe(c.warnings);
    });
  }
});
