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

export {
  IdentityError,
  PidReusedError,
  ProcessAccessError,
  ProcessChangedError,
  ProcessGoneError,
  ProcessInvalidError,
  ProcfsError,
} from "./errors.ts";
export type { IdentityErrorCode } from "./errors.ts";
export type { ProcessFacts, ProcessRef } from "./types.ts";
export { assertSameProcess, readProcessFacts, readStartTime, DEFAULT_CMDLINE_LIMIT } from "./facts.ts";
export type { FactsOptions } from "./facts.ts";
export { DEFAULT_HASH_LIMITS } from "./exe-hash.ts";
export type { ExeHash, HashLimits } from "./exe-hash.ts";
export { cgroupDirectory, findCgroupV2Mount } from "./cgroup.ts";
export type { CgroupV2Mount } from "./cgroup.ts";
export { systemdFromCgroup } from "./systemd.ts";
export type { SystemdFacts } from "./systemd.ts";
export { compareCandidates, matchWorkload } from "./match.ts";
export type { MatchCandidate, SelectorRef, WorkloadMatch } from "./match.ts";
export type { WorkloadSource } from "./selectors.ts";
export { Attestor } from "./attestor.ts";
export type { Attestation, AttestorOptions, AttestorStats, IdentifyOptions } from "./attestor.ts";
export { explainFacts, explainIdentity, formatExplanation } from "./explain.ts";
export type { EntryCheck, ExplainOptions, IdentityExplanation, IdentitySummary, KeyCheck, WorkloadCheck } from "./explain.ts";
export { attestLoopbackPeer, type LoopbackConnection, type LoopbackPeer } from "./tcp-peer.ts";
export { holdsSocket } from "./socket-owner.ts";
