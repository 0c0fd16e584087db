/**
 * Workload identity: SPIFFE ID syntax, process attestation (facts from procfs through a pidfd)
 * and selector matching (which WorkloadIdentity a process is). docs/selectors.md for users.
 *
 * SPIFFE IDs:
 * - `parseSpiffeId(s)` → `{trustDomain, path, id}`, throws `SpiffeIdError` (`code: "ERR_SPIFFE_ID"`,
 *   `rule` names the spec rule that failed); `tryParseSpiffeId(s)` returns `{ok, value | error}`.
 * - `isValidTrustDomain(td)`, `trustDomainProblem(td)` (why not).
 * - `spiffeIdFor(trustDomain, path)` builds and validates `spiffe://td/path`.
 *
 * Attestation:
 * - `readProcessFacts(pid, {hashLimitBytes, hashTimeoutMs, cmdlineLimitBytes, expect?, pidfd?})`
 *   → Promise<ProcessFacts>. pidfd first, re-checked after reading: a recycled pid is
 *   `ERR_PID_REUSED`, an exited process `ERR_PROCESS_GONE` (IdentityError subclasses).
 * - `assertSameProcess({pid, startTime, pidfdInode?})` throws unless that process still lives.
 * - `readStartTime(pid)`; `findCgroupV2Mount()` → `{mountPoint, root}` from /proc/self/mountinfo.
 * - `matchWorkload(facts, snapshot)` → `{workload?, spiffeId?, matchedSelector?, candidates,
 *   ambiguous, weak, reason}`; selectors compiled once per snapshot.
 * - `new Attestor({logger, audit?, cacheSize, maxAgeMs, hashLimitBytes, hashTimeoutMs…})`:
 *   `identify(pid, snapshot, {expect?, pidfd?})` → `{facts, match, cached}`, `identifyCached`,
 *   `facts`, `invalidate(pid)`, `sweep()`, `clear()`, `stats`, `close()`. Audits
 *   `identity.ambiguous` once per (pid, start time).
 * - `explainIdentity(pid, snapshot, {attestor?})` → `{facts, startedAt, identity, workloads, text}`
 *   for `sluice identify --pid N` (`text` for people, the rest for `--json`).
 */
export {
  MAX_SPIFFE_ID_BYTES,
  MAX_TRUST_DOMAIN_BYTES,
  SpiffeIdError,
  isValidTrustDomain,
  parseSpiffeId,
  spiffeIdFor,
  trustDomainProblem,
  tryParseSpiffeId,
} from "./spiffe-id.ts";
export type { SpiffeId, SpiffeIdResult, SpiffeIdRule } from "./spiffe-id.ts";
