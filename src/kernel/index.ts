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
  EXE_ANY_ID,
  HOOKS,
  INGRESS_VERDICTS,
  LIMITS,
  MAP_NAMES,
  MAX_RANGES,
  PROC_FLAGS,
  PROTO_MASK,
  RANGE_FLAGS,
  SLOTS,
  STRUCTS,
  VERDICTS,
  WL_FLAGS,
  sluiceEvent,
  splitKernelDev,
  toKernelDev,
} from "./layout.ts";
export type { ExeClass, ExeKey, IngressKey, LpmKey, MapCodec, MapName, OrigDstKey, PortRangeValue, ProxyAddress, RuleValue, SluiceEvent, SluiceProc, SluiceRedirect, SluiceState, StructLayout, WorkloadValue } from "./layout.ts";
// - redirect: `lookupOriginalDestination(origDst, {localPort, family})` → the original destination
//   and process facts of a connection the kernel redirected to the proxy.
export { decodeOriginalDestination, lookupOriginalDestination } from "./original-destination.ts";
export type { OrigDstMap, OriginalDestination } from "./original-destination.ts";
export {
  compileKernelPolicy,
  hostnamesIn,
  statExe,
  statExeWithHash,
  InMemoryWorkloadIds,
  KernelCompileError,
  simulateKernelDecision,
  simulateExecClassification,
  UNMANAGED,
} from "./compile/index.ts";
export type {
  ExeEntry,
  ExecFacts,
  ExeStat,
  KernelCompileOptions,
  KernelPolicy,
  KernelWarning,
  LpmEntry,
  ProxyTarget,
  Resolved,
  ResolveFn,
  RuleTableEntry,
  SimulatedDecision,
  StatExeFn,
  UserspaceSelector,
  WorkloadIdRegistry,
} from "./compile/index.ts";

// ---- libbpf bindings, typed maps, ring buffer, pinning (src/kernel/libbpf, maps, pin) -----------
//
// - loadLibbpf() → {sym, via: "memfd"|"file"|"tmpfile", version, possibleCpus, strerror}: the
//   vendored libsluice-bpf.so (scripts/build-libbpf.sh), from a memfd inside dist/sluice.
//   setLibbpfLogger(logger, {debug?}) routes libbpf's log; a failed load carries it in KernelError.log.
// - KernelError {code: ERR_BPF_*, errno: "EPERM"…, errnoNumber, call: "bpf_map_update_elem"…, log}.
// - BpfObject.openMem(bytes, {name, pinRootPath?, kconfig?, btfCustomPath?}) → .load(),
//   .program(name) → BpfProgram {fd, type, section, attachCgroup(pathOrFd), attach()},
//   .map(name) → ObjectMap {fd, type, keySize, valueSize, maxEntries, setMaxEntries, setPinPath,
//   reuseFd, pin, unpin}, .programs(), .maps(), .close().
// - BpfLink {fd, pin(path), unpin(), updateProgram(prog), detach(), destroy()}; BpfLink.open(pinPath) adopts.
// - BpfMap<K, V>: fromObjectMap(map, codec) | adopt(pinPath, codec) | create(spec, codec);
//   lookup, has, update(k, v, "any"|"noexist"|"exist"), delete, keys(), entries(),
//   lookupPerCpu, sumPerCpu, updatePerCpu, pin, close. Codecs: mapCodec(key, value) over
//   FieldCodecs (u32Codec, u64Codec, bytesCodec(n), layout.ts StructLayouts).
// - Map-in-map: createInnerMap(spec, codec), setOuterSlot(outer, slot, inner), outerSlotId,
//   clearOuterSlot.
// - Fd-level: mapCreate, objPin, objGet, linkCreate (e.g. tcx), linkDetach, progTestRun; bpfFdInfo(fd).
// - RingBufferReader(map, {onRecord, intervalMs?, logger?}).start() / poll() / drain() / stop({drain?}).
// - bpffs: ensureBpffs(), ensurePinDir(dir = SLUICE_PIN_DIR), isBpffsMounted, fsTypeOf;
//   pins: listPins(dir), adoptPin(path), unpin(path), detachPinnedLink(path), detachAll(dir, {keepDir?}).
// - cgroupV2Root() (from /proc/self/mountinfo), cgroupId(dir).
export { KernelError } from "./errors.ts";
export type { KernelErrorCode } from "./errors.ts";
export { loadLibbpf, LIBBPF_ASSET } from "./libbpf/load.ts";
export type { Libbpf } from "./libbpf/load.ts";
export { setLibbpfLogger } from "./libbpf/print.ts";
export { errnoName, errnoNumber } from "./libbpf/errno.ts";
export { AttachType, MapFlag, MapType, ProgType, UpdateFlag, mapTypeName, progTypeName } from "./libbpf/constants.ts";
export type { MapTypeName, UpdateMode } from "./libbpf/constants.ts";
export { BpfObject } from "./libbpf/object.ts";
export type { OpenMemOptions } from "./libbpf/object.ts";
export { BpfProgram } from "./libbpf/program.ts";
export { ObjectMap } from "./libbpf/object-map.ts";
export { BpfLink } from "./libbpf/link.ts";
export { linkCreate, linkDetach, mapCreate, objGet, objPin, progTestRun } from "./libbpf/syscalls.ts";
export type { MapCreateInput, TestRunResult } from "./libbpf/syscalls.ts";
export { bpfFdInfo } from "./libbpf/fdinfo.ts";
export type { BpfFdInfo, BpfObjectKind } from "./libbpf/fdinfo.ts";
export { BpfMap, isMapErrno } from "./maps/bpf-map.ts";
export type { BpfMapInfo, CreateMapSpec } from "./maps/bpf-map.ts";
export { bytesCodec, mapCodec, u32Codec, u64Codec } from "./maps/codec.ts";
export type { FieldCodec } from "./maps/codec.ts";
export { clearOuterSlot, createInnerMap, outerSlotId, setOuterSlot } from "./maps/map-in-map.ts";
export type { HasFd } from "./maps/map-in-map.ts";
export { RingBufferReader } from "./ringbuf-reader.ts";
export type { RingBufferReaderOptions } from "./ringbuf-reader.ts";
export { BPFFS_ROOT, SLUICE_PIN_DIR, ensureBpffs, ensurePinDir, fsTypeOf, isBpffsMounted } from "./pin/bpffs.ts";
export { adoptPin, detachAll, detachPinnedLink, listPins, unpin } from "./pin/pins.ts";
export type { AdoptedPin, PinEntry } from "./pin/pins.ts";
export { cgroupId, cgroupV2Root } from "./cgroup.ts";
// - netdev: TC egress (second line; tcx, or cls_bpf on clsact without tcx) and XDP ingress
//   (Services with `inbound.onlyThroughSluice`) on every non-loopback interface, followed as
//   interfaces come and go: `new NetdevGuard({pinDir, logger, interfaces?}).start()`, `status()`.
export { detachNetdevFilters, guardedInterfaces, interfaceIndex, listInterfaces, NETDEV_PROGRAMS, NetdevGuard, queryClsact, readNetdevPins } from "./netdev/index.ts";
export type { InterfaceGuard, NetdevGuardOptions, NetdevStatus, NetInterface, PinnedInterface, TcMode } from "./netdev/index.ts";
