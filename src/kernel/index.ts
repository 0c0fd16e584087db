/**
 * Kernel enforcement (issue 4): eBPF programs in bpf/, their maps mirrored in TypeScript, policy
 * compiled to map contents, and (appended by the loader side) the libbpf bindings, typed maps,
 * ring buffer and pinning.
 */

// ---- BPF ABI and policy → map contents (bpf/include/sluice_shared.h, src/kernel/compile) -------
//
// - layout: struct sizes/offsets, enums and map codecs `{keySize, valueSize, encodeKey, decodeKey,
//   encodeValue, decodeValue}` for every map of sluice.bpf.o (`CODECS.procs`, `.state`, `.rulesV4`,
//   `.rulesV6`, `.workloads`, `.exe`, `.counters`, `.outer`); `sluiceEvent.decode(record)` for
//   ring buffer records; `toKernelDev(st_dev)` for exe keys. Checked against the C header by
//   test/unit/kernel/layout.test.ts.
// - compile: `compileKernelPolicy(snapshot, {ids, resolve, statExe})` → one generation's map
//   contents (throws KernelCompileError when the kernel cannot represent it: keep the previous
//   generation); `hostnamesIn(snapshot)` to resolve first; `simulateKernelDecision` = the kernel's
//   decision procedure in TypeScript.
export {
  CODECS,
  COUNTERS,
  EVENT_TYPES,
  HOOKS,
  LIMITS,
  MAP_NAMES,
  MAX_RANGES,
  PROC_FLAGS,
  PROTO_MASK,
  SLOTS,
  STRUCTS,
  VERDICTS,
  WL_FLAGS,
  sluiceEvent,
  splitKernelDev,
  toKernelDev,
} from "./layout.ts";
export type { ExeKey, LpmKey, MapCodec, MapName, PortRangeValue, RuleValue, SluiceEvent, SluiceProc, SluiceState, StructLayout, WorkloadValue } from "./layout.ts";
export {
  compileKernelPolicy,
  hostnamesIn,
  InMemoryWorkloadIds,
  KernelCompileError,
  simulateKernelDecision,
  UNMANAGED,
} from "./compile/index.ts";
export type {
  ExeEntry,
  ExeStat,
  KernelCompileOptions,
  KernelPolicy,
  KernelWarning,
  LpmEntry,
  Resolved,
  ResolveFn,
  RuleTableEntry,
  SimulatedDecision,
  StatExeFn,
  UserspaceSelector,
  WorkloadIdRegistry,
} from "./compile/index.ts";
