/**
 * The TypeScript mirror of bpf/include/sluice_shared.h: struct sizes, field offsets (C names,
 * padding included), enum values, and little-endian DataView codecs shaped as map codecs
 * (`{keySize, valueSize, encodeKey, decodeKey, encodeValue, decodeValue}`) for typed maps.
 *
 * test/unit/kernel/layout.test.ts compiles a C program that prints sizeof/offsetof of every struct
 * and field of the header and the value of every enum, and compares with STRUCTS and ENUMS here:
 * a field added, moved or resized on one side only fails it. Change both sides together.
 */

// ---- enums (sluice_shared.h) ----------------------------------------------------------------

export const MAX_RANGES = 16;
export const SLOTS = 2;
export const COMM_LEN = 16;

export const PROC_FLAGS = { INHERITED: 1, EXE: 2, REFINED: 4 } as const;
export const PROTO_MASK = { TCP: 1, UDP: 2, OTHER: 4 } as const;
export const WL_FLAGS = { MANAGED: 1, AUDIT: 2, ALLOW_ALL: 4 } as const;
export const COUNTERS = {
  ALLOWED: 0,
  DENIED: 1,
  AUDITED: 2,
  EVENTS_DROPPED: 3,
  NO_POLICY: 4,
  PROCS_FULL: 5,
  EXEC_CLASSIFIED: 6,
  FORK_INHERITED: 7,
  REDIRECTED: 8,
  REDIRECT_FAILED: 9,
  ORIGDST_FAILED: 10,
  TC_DROPPED: 11,
  TC_AUDITED: 12,
  XDP_DROPPED: 13,
  XDP_ALLOWED: 14,
  SOCK_TAG_FAILED: 15,
  MAX: 16,
} as const;
export const EVENT_TYPES = { CONNECT: 1, EXEC: 2, EXIT: 3, FORK: 4 } as const;
/** REDIRECT: a TCP connect sent to the proxy (one CONNECT event per connection, with the original destination). */
export const VERDICTS = { ALLOW: 1, DENY: 2, AUDIT: 3, REDIRECT: 4 } as const;
/** enum sluice_range_flags. */
export const RANGE_FLAGS = { REDIRECT: 1 } as const;
export const HOOKS = { NONE: 0, CONNECT4: 1, CONNECT6: 2, SENDMSG4: 3, SENDMSG6: 4 } as const;
export const LIMITS = {
  MAX_RANGES,
  SLOTS,
  PROCS_MAX: 65536,
  RULES_MAX: 65536,
  WORKLOADS_MAX: 4096,
  EXE_MAX: 4096,
  COMM_LEN,
  EVENTS_BYTES: 1 << 20,
  REDIRECTS_MAX: 65536,
  INGRESS_MAX: 16384,
} as const;
/** enum sluice_ingress_verdict (values of the ingress4/6 LPM tries). */
export const INGRESS_VERDICTS = { PROTECTED: 1, ALLOW: 2 } as const;

/** Every enum of the header by its C prefix, for the layout test (`SLUICE_` + prefix + key). */
export const ENUMS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  "": { MAX_RANGES, SLOTS, PROCS_MAX: LIMITS.PROCS_MAX, RULES_MAX: LIMITS.RULES_MAX, WORKLOADS_MAX: LIMITS.WORKLOADS_MAX, EXE_MAX: LIMITS.EXE_MAX, COMM_LEN, EVENTS_BYTES: LIMITS.EVENTS_BYTES, REDIRECTS_MAX: LIMITS.REDIRECTS_MAX, INGRESS_MAX: LIMITS.INGRESS_MAX },
  INGRESS_: INGRESS_VERDICTS,
  PROC_: PROC_FLAGS,
  PROTO_: PROTO_MASK,
  RANGE_: RANGE_FLAGS,
  WL_: WL_FLAGS,
  CNT_: COUNTERS,
  EV_: EVENT_TYPES,
  VERDICT_: VERDICTS,
  HOOK_: HOOKS,
};

/** Pin names under /sys/fs/bpf/sluice/ (= the map names in sluice.bpf.o). */
export const MAP_NAMES = ["procs", "state", "rules_v4_outer", "rules_v6_outer", "workloads_outer", "exe_class_outer", "events", "counters", "redir_cookie", "orig_dst", "sock_wl", "ingress4_outer", "ingress6_outer"] as const;
export type MapName = (typeof MAP_NAMES)[number];

// ---- structs --------------------------------------------------------------------------------

/** C field name → byte offset and size (arrays: the whole array). */
export type FieldTable = Readonly<Record<string, { readonly offset: number; readonly size: number }>>;

export interface StructLayout<T> {
  readonly name: string;
  readonly size: number;
  readonly fields: FieldTable;
  encode(value: T, out?: Uint8Array): Uint8Array;
  decode(bytes: Uint8Array): T;
}

function fieldTable(spec: ReadonlyArray<readonly [string, number]>, size: number): FieldTable {
  const t: Record<string, { offset: number; size: number }> = {};
  let offset = 0;
  for (const [name, bytes] of spec) {
    t[name] = { offset, size: bytes };
    offset += bytes;
  }
  if (offset !== size) throw new Error(`layout: fields add up to ${offset}, expected ${size}`);
  return Object.freeze(t);
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function buffer(size: number, out?: Uint8Array): Uint8Array {
  if (!out) return new Uint8Array(size);
  if (out.byteLength < size) throw new RangeError(`buffer of ${out.byteLength} bytes, need ${size}`);
  out.fill(0, 0, size);
  return out;
}

function need(b: Uint8Array, size: number, name: string): DataView {
  if (b.byteLength < size) throw new RangeError(`${name}: ${b.byteLength} bytes, need ${size}`);
  return view(b);
}

function layout<T>(name: string, size: number, spec: ReadonlyArray<readonly [string, number]>, enc: (v: T, d: DataView, b: Uint8Array) => void, dec: (d: DataView, b: Uint8Array) => T): StructLayout<T> {
  const fields = fieldTable(spec, size);
  return Object.freeze({
    name,
    size,
    fields,
    encode(value: T, out?: Uint8Array) {
      const b = buffer(size, out);
      enc(value, view(b), b);
      return b;
    },
    decode(bytes: Uint8Array) {
      return dec(need(bytes, size, name), bytes);
    },
  });
}

const LE = true;

export interface SluiceProc {
  readonly workload: number;
  readonly flags: number;
  /** task->start_boottime (ns since boot). */
  readonly startTimeNs: bigint;
}
export const sluiceProc = layout<SluiceProc>(
  "sluice_proc",
  16,
  [["workload", 4], ["flags", 4], ["start_time_ns", 8]],
  (v, d) => {
    d.setUint32(0, v.workload, LE);
    d.setUint32(4, v.flags, LE);
    d.setBigUint64(8, v.startTimeNs, LE);
  },
  (d) => ({ workload: d.getUint32(0, LE), flags: d.getUint32(4, LE), startTimeNs: d.getBigUint64(8, LE) }),
);

/** The proxy's loopback listener REDIRECT ranges send TCP connects to. */
export interface ProxyAddress {
  /** IPv4 address, network order (4 bytes). */
  readonly ip4: Uint8Array;
  /** IPv6 address, network order (16 bytes). */
  readonly ip6: Uint8Array;
  /** Host order; 0 = no proxy (REDIRECT matches are denied). */
  readonly port: number;
}

export interface SluiceState {
  readonly activeSlot: number;
  readonly generation: number;
  readonly appliedAtNs: bigint;
  /** Absent when encoding = no proxy (zeros). */
  readonly proxy?: ProxyAddress;
}
export const sluiceState = layout<SluiceState>(
  "sluice_state",
  40,
  [["active_slot", 4], ["generation", 4], ["applied_at_ns", 8], ["proxy_ip4", 4], ["proxy_port", 2], ["pad", 2], ["proxy_ip6", 16]],
  (v, d, b) => {
    d.setUint32(0, v.activeSlot, LE);
    d.setUint32(4, v.generation >>> 0, LE);
    d.setBigUint64(8, v.appliedAtNs, LE);
    if (v.proxy) {
      if (v.proxy.ip4.byteLength !== 4 || v.proxy.ip6.byteLength !== 16) throw new RangeError("sluice_state: proxy addresses must be 4 and 16 bytes");
      b.set(v.proxy.ip4, 16);
      d.setUint16(20, v.proxy.port, LE);
      b.set(v.proxy.ip6, 24);
    }
  },
  (d, b) => {
    const port = d.getUint16(20, LE);
    const base = { activeSlot: d.getUint32(0, LE), generation: d.getUint32(4, LE), appliedAtNs: d.getBigUint64(8, LE) };
    return port === 0 ? base : { ...base, proxy: { ip4: b.slice(16, 20), ip6: b.slice(24, 40), port } };
  },
);

/** An LPM key. `prefixLen` counts ADDRESS bits; the C prefixlen is 32 (workload) + prefixLen. */
export interface LpmKey {
  readonly workload: number;
  readonly prefixLen: number;
  /** Network order, 4 or 16 bytes. */
  readonly addr: Uint8Array;
}

function lpm(name: string, addrBytes: number): StructLayout<LpmKey> {
  return layout<LpmKey>(
    name,
    8 + addrBytes,
    [["prefixlen", 4], ["workload", 4], ["addr", addrBytes]],
    (v, d, b) => {
      if (v.addr.byteLength !== addrBytes) throw new RangeError(`${name}: address of ${v.addr.byteLength} bytes, need ${addrBytes}`);
      if (v.prefixLen < 0 || v.prefixLen > addrBytes * 8) throw new RangeError(`${name}: prefix length ${v.prefixLen}`);
      d.setUint32(0, 32 + v.prefixLen, LE);
      d.setUint32(4, v.workload, LE);
      b.set(v.addr, 8);
    },
    (d, b) => ({ prefixLen: d.getUint32(0, LE) - 32, workload: d.getUint32(4, LE), addr: b.slice(8, 8 + addrBytes) }),
  );
}
export const sluiceLpmV4 = lpm("sluice_lpm_v4", 4);
export const sluiceLpmV6 = lpm("sluice_lpm_v6", 16);

export interface PortRangeValue {
  readonly lo: number;
  readonly hi: number;
  readonly protoMask: number;
  /** enum sluice_range_flags (RANGE_FLAGS); absent = 0. */
  readonly flags?: number;
}
export const sluicePortRange = layout<PortRangeValue>(
  "sluice_port_range",
  8,
  [["lo", 2], ["hi", 2], ["proto_mask", 1], ["flags", 1], ["pad", 2]],
  (v, d) => {
    d.setUint16(0, v.lo, LE);
    d.setUint16(2, v.hi, LE);
    d.setUint8(4, v.protoMask);
    d.setUint8(5, v.flags ?? 0);
  },
  (d) => {
    const flags = d.getUint8(5);
    const r = { lo: d.getUint16(0, LE), hi: d.getUint16(2, LE), protoMask: d.getUint8(4) };
    return flags ? { ...r, flags } : r;
  },
);

export interface RuleValue {
  readonly ruleId: number;
  readonly allPortsMask: number;
  /** At most MAX_RANGES. */
  readonly ranges: readonly PortRangeValue[];
}
export const sluiceRule = layout<RuleValue>(
  "sluice_rule",
  8 + 8 * MAX_RANGES,
  [["rule_id", 4], ["nranges", 1], ["all_ports_mask", 1], ["pad", 2], ["ranges", 8 * MAX_RANGES]],
  (v, d, b) => {
    if (v.ranges.length > MAX_RANGES) throw new RangeError(`sluice_rule: ${v.ranges.length} ranges, at most ${MAX_RANGES}`);
    d.setUint32(0, v.ruleId, LE);
    d.setUint8(4, v.ranges.length);
    d.setUint8(5, v.allPortsMask);
    v.ranges.forEach((r, i) => sluicePortRange.encode(r, b.subarray(8 + 8 * i, 16 + 8 * i)));
  },
  (d, b) => {
    const n = Math.min(d.getUint8(4), MAX_RANGES);
    const ranges: PortRangeValue[] = [];
    for (let i = 0; i < n; i++) ranges.push(sluicePortRange.decode(b.subarray(8 + 8 * i, 16 + 8 * i)));
    return { ruleId: d.getUint32(0, LE), allPortsMask: d.getUint8(5), ranges };
  },
);

export interface WorkloadValue {
  readonly flags: number;
}
export const sluiceWorkload = layout<WorkloadValue>(
  "sluice_workload",
  8,
  [["flags", 4], ["reserved", 4]],
  (v, d) => d.setUint32(0, v.flags, LE),
  (d) => ({ flags: d.getUint32(0, LE) }),
);

/** SLUICE_EXE_ANY_ID: an exe_class key's uid/gid the entry does not constrain ((uid_t)-1, never a real id). */
export const EXE_ANY_ID = 0xffffffff;

/**
 * exe_class key. `ino` 0n with `dev` 0 = any executable; `uid`/`gid` undefined = any (encoded as
 * EXE_ANY_ID). uid/gid are the EFFECTIVE ids after the exec.
 */
export interface ExeKey {
  readonly ino: bigint;
  /** Kernel dev_t (see toKernelDev). */
  readonly dev: number;
  readonly uid?: number;
  readonly gid?: number;
}
export const sluiceExeKey = layout<ExeKey>(
  "sluice_exe_key",
  24,
  [["ino", 8], ["dev", 4], ["uid", 4], ["gid", 4], ["pad", 4]],
  (v, d) => {
    d.setBigUint64(0, v.ino, LE);
    d.setUint32(8, v.dev, LE);
    d.setUint32(12, v.uid ?? EXE_ANY_ID, LE);
    d.setUint32(16, v.gid ?? EXE_ANY_ID, LE);
  },
  (d) => {
    const uid = d.getUint32(12, LE);
    const gid = d.getUint32(16, LE);
    return { ino: d.getBigUint64(0, LE), dev: d.getUint32(8, LE), ...(uid !== EXE_ANY_ID ? { uid } : {}), ...(gid !== EXE_ANY_ID ? { gid } : {}) };
  },
);

/** exe_class value: the workload, and its rank among several hits (lower wins). */
export interface ExeClass {
  readonly workload: number;
  readonly rank: number;
}
export const sluiceExeClass = layout<ExeClass>(
  "sluice_exe_class",
  8,
  [["workload", 4], ["rank", 4]],
  (v, d) => {
    d.setUint32(0, v.workload >>> 0, LE);
    d.setUint32(4, v.rank >>> 0, LE);
  },
  (d) => ({ workload: d.getUint32(0, LE), rank: d.getUint32(4, LE) }),
);

export interface SluiceEvent {
  readonly type: number;
  readonly verdict: number;
  readonly pid: number;
  readonly tgid: number;
  readonly ppid: number;
  readonly uid: number;
  readonly gid: number;
  readonly workload: number;
  readonly ruleId: number;
  readonly family: number;
  /** Host order. */
  readonly dport: number;
  readonly proto: number;
  readonly hook: number;
  readonly procFlags: number;
  readonly cgroupId: bigint;
  readonly tsNs: bigint;
  readonly exeIno: bigint;
  readonly exeDev: number;
  readonly generation: number;
  /** Network order (IPv4: first 4 bytes). */
  readonly addr: Uint8Array;
  readonly comm: string;
}
const utf8 = new TextDecoder();
const utf8e = new TextEncoder();
export const sluiceEvent = layout<SluiceEvent>(
  "sluice_event",
  112,
  [
    ["type", 4], ["verdict", 4], ["pid", 4], ["tgid", 4], ["ppid", 4], ["uid", 4], ["gid", 4], ["workload", 4], ["rule_id", 4],
    ["family", 2], ["dport", 2], ["proto", 1], ["hook", 1], ["pad", 2], ["proc_flags", 4],
    ["cgroup_id", 8], ["ts_ns", 8], ["exe_ino", 8], ["exe_dev", 4], ["generation", 4], ["addr", 16], ["comm", COMM_LEN],
  ],
  (v, d, b) => {
    const u32 = [v.type, v.verdict, v.pid, v.tgid, v.ppid, v.uid, v.gid, v.workload, v.ruleId];
    u32.forEach((x, i) => d.setUint32(4 * i, x >>> 0, LE));
    d.setUint16(36, v.family, LE);
    d.setUint16(38, v.dport, LE);
    d.setUint8(40, v.proto);
    d.setUint8(41, v.hook);
    d.setUint32(44, v.procFlags, LE);
    d.setBigUint64(48, v.cgroupId, LE);
    d.setBigUint64(56, v.tsNs, LE);
    d.setBigUint64(64, v.exeIno, LE);
    d.setUint32(72, v.exeDev, LE);
    d.setUint32(76, v.generation, LE);
    b.set(v.addr.subarray(0, 16), 80);
    b.set(utf8e.encode(v.comm).subarray(0, COMM_LEN - 1), 96);
  },
  (d, b) => {
    const comm = b.subarray(96, 96 + COMM_LEN);
    const nul = comm.indexOf(0);
    return {
      type: d.getUint32(0, LE),
      verdict: d.getUint32(4, LE),
      pid: d.getUint32(8, LE),
      tgid: d.getUint32(12, LE),
      ppid: d.getUint32(16, LE),
      uid: d.getUint32(20, LE),
      gid: d.getUint32(24, LE),
      workload: d.getUint32(28, LE),
      ruleId: d.getUint32(32, LE),
      family: d.getUint16(36, LE),
      dport: d.getUint16(38, LE),
      proto: d.getUint8(40),
      hook: d.getUint8(41),
      procFlags: d.getUint32(44, LE),
      cgroupId: d.getBigUint64(48, LE),
      tsNs: d.getBigUint64(56, LE),
      exeIno: d.getBigUint64(64, LE),
      exeDev: d.getUint32(72, LE),
      generation: d.getUint32(76, LE),
      addr: b.slice(80, 96),
      comm: utf8.decode(nul < 0 ? comm : comm.subarray(0, nul)),
    };
  },
);

/** A redirected connection: original destination and the connecting process (map values of redir_cookie / orig_dst). */
export interface SluiceRedirect {
  /** Network order, 16 bytes (IPv4: first 4; v4-mapped: ::ffff:a.b.c.d). */
  readonly addr: Uint8Array;
  /** The client socket's family: AF_INET (2) or AF_INET6 (10). */
  readonly family: number;
  /** Host order. */
  readonly port: number;
  readonly v4Mapped: boolean;
  readonly pid: number;
  readonly tid: number;
  readonly uid: number;
  readonly gid: number;
  readonly workload: number;
  readonly ruleId: number;
  readonly cgroupId: bigint;
  readonly tsNs: bigint;
}
export const sluiceRedirect = layout<SluiceRedirect>(
  "sluice_redirect",
  64,
  [["addr", 16], ["family", 2], ["port", 2], ["v4_mapped", 1], ["pad", 3], ["pid", 4], ["tid", 4], ["uid", 4], ["gid", 4], ["workload", 4], ["rule_id", 4], ["cgroup_id", 8], ["ts_ns", 8]],
  (v, d, b) => {
    b.set(v.addr.subarray(0, 16), 0);
    d.setUint16(16, v.family, LE);
    d.setUint16(18, v.port, LE);
    d.setUint8(20, v.v4Mapped ? 1 : 0);
    [v.pid, v.tid, v.uid, v.gid, v.workload, v.ruleId].forEach((x, i) => d.setUint32(24 + 4 * i, x >>> 0, LE));
    d.setBigUint64(48, v.cgroupId, LE);
    d.setBigUint64(56, v.tsNs, LE);
  },
  (d, b) => ({
    addr: b.slice(0, 16),
    family: d.getUint16(16, LE),
    port: d.getUint16(18, LE),
    v4Mapped: d.getUint8(20) !== 0,
    pid: d.getUint32(24, LE),
    tid: d.getUint32(28, LE),
    uid: d.getUint32(32, LE),
    gid: d.getUint32(36, LE),
    workload: d.getUint32(40, LE),
    ruleId: d.getUint32(44, LE),
    cgroupId: d.getBigUint64(48, LE),
    tsNs: d.getBigUint64(56, LE),
  }),
);

/** orig_dst key: family as the proxy sees the accepted connection (2 or 10), client local port (host order). */
export interface OrigDstKey {
  readonly family: number;
  readonly port: number;
}
export const sluiceOrigdstKey = layout<OrigDstKey>(
  "sluice_origdst_key",
  4,
  [["family", 2], ["port", 2]],
  (v, d) => {
    d.setUint16(0, v.family, LE);
    d.setUint16(2, v.port, LE);
  },
  (d) => ({ family: d.getUint16(0, LE), port: d.getUint16(2, LE) }),
);

/** A key of the ingress4/6 LPM tries: (local port, protocol, source prefix). */
export interface IngressKey {
  readonly port: number;
  readonly proto: number;
  /** Source prefix length in bits (0..32 / 0..128); 0 = the PROTECTED marker of (port, proto). */
  readonly prefixLen: number;
  /** Source address, network order (4 or 16 bytes; bits past prefixLen zero). */
  readonly addr: Uint8Array;
}

function ingressKey(name: string, addrBytes: number): StructLayout<IngressKey> {
  return layout<IngressKey>(
    name,
    8 + addrBytes,
    [["prefixlen", 4], ["port", 2], ["proto", 1], ["pad", 1], ["addr", addrBytes]],
    (v, d, b) => {
      if (v.addr.byteLength !== addrBytes) throw new RangeError(`${name}: address of ${v.addr.byteLength} bytes, need ${addrBytes}`);
      if (v.prefixLen < 0 || v.prefixLen > addrBytes * 8) throw new RangeError(`${name}: prefix length ${v.prefixLen}`);
      d.setUint32(0, 32 + v.prefixLen, LE);
      d.setUint16(4, v.port, LE);
      d.setUint8(6, v.proto);
      b.set(v.addr, 8);
    },
    (d, b) => ({ prefixLen: d.getUint32(0, LE) - 32, port: d.getUint16(4, LE), proto: d.getUint8(6), addr: b.slice(8, 8 + addrBytes) }),
  );
}
export const sluiceIngressV4 = ingressKey("sluice_ingress_v4", 4);
export const sluiceIngressV6 = ingressKey("sluice_ingress_v6", 16);

/** Every struct of the header by its C name (the layout test walks this). */
export const STRUCTS: Readonly<Record<string, StructLayout<never>>> = Object.fromEntries(
  [sluiceProc, sluiceState, sluiceLpmV4, sluiceLpmV6, sluicePortRange, sluiceRule, sluiceWorkload, sluiceExeKey, sluiceExeClass, sluiceEvent, sluiceRedirect, sluiceOrigdstKey, sluiceIngressV4, sluiceIngressV6].map((s) => [s.name, s as StructLayout<never>]),
);

// ---- map codecs -----------------------------------------------------------------------------

/** What a typed map wrapper needs to turn keys and values into bytes and back. */
export interface MapCodec<K, V> {
  readonly keySize: number;
  readonly valueSize: number;
  encodeKey(key: K, out?: Uint8Array): Uint8Array;
  decodeKey(bytes: Uint8Array): K;
  encodeValue(value: V, out?: Uint8Array): Uint8Array;
  decodeValue(bytes: Uint8Array): V;
}

const u32Layout = layout<number>("u32", 4, [["value", 4]], (v, d) => d.setUint32(0, v >>> 0, LE), (d) => d.getUint32(0, LE));
const u64Layout = layout<bigint>("u64", 8, [["value", 8]], (v, d) => d.setBigUint64(0, v, LE), (d) => d.getBigUint64(0, LE));

function codec<K, V>(k: StructLayout<K>, v: StructLayout<V>): MapCodec<K, V> {
  return Object.freeze({ keySize: k.size, valueSize: v.size, encodeKey: k.encode, decodeKey: k.decode, encodeValue: v.encode, decodeValue: v.decode });
}

export const CODECS = {
  /** tgid → classification. */
  procs: codec(u32Layout, sluiceProc),
  /** 0 → state. */
  state: codec(u32Layout, sluiceState),
  /** Inner maps of rules_v4_outer / rules_v6_outer (LPM tries, BPF_F_NO_PREALLOC). */
  rulesV4: codec(sluiceLpmV4, sluiceRule),
  rulesV6: codec(sluiceLpmV6, sluiceRule),
  /** Inner map of workloads_outer: workload id → flags. */
  workloads: codec(u32Layout, sluiceWorkload),
  /** Inner map of exe_class_outer: (ino, dev, euid, egid; wildcards) → (workload, rank). */
  exe: codec(sluiceExeKey, sluiceExeClass),
  /** counters (per CPU: the wrapper reads valueSize × nCPU bytes). */
  counters: codec(u32Layout, u64Layout),
  /** redir_cookie: socket cookie → redirect record (written by connect4/6). */
  redirCookie: codec(u64Layout, sluiceRedirect),
  /** orig_dst: (family, client local port) → redirect record (written by sockops; read by the proxy). */
  origDst: codec(sluiceOrigdstKey, sluiceRedirect),
  /** Inner maps of ingress4_outer / ingress6_outer: (port, proto, source prefix) → INGRESS_VERDICTS. */
  ingressV4: codec(sluiceIngressV4, u32Layout),
  ingressV6: codec(sluiceIngressV6, u32Layout),
  /** *_outer maps: slot → inner map fd (write) / id (read). */
  outer: codec(u32Layout, u32Layout),
} as const;

// ---- helpers --------------------------------------------------------------------------------

/**
 * stat()'s st_dev (glibc/new_encode_dev: minor low 8 bits | major << 8 | minor high bits << 12)
 * → the kernel's internal dev_t as in `i_sb->s_dev` (major << 20 | minor).
 */
export function toKernelDev(stDev: number | bigint): number {
  const v = BigInt(stDev);
  const major = Number(((v >> 8n) & 0xfffn) | ((v >> 32n) & ~0xfffn));
  const minor = Number((v & 0xffn) | ((v >> 12n) & ~0xffn & 0xffffffffn));
  return ((major << 20) | (minor & 0xfffff)) >>> 0;
}

/** The kernel's dev_t → {major, minor}. */
export function splitKernelDev(dev: number): { major: number; minor: number } {
  return { major: dev >>> 20, minor: dev & 0xfffff };
}
