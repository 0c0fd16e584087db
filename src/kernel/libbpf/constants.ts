/** Numbers from linux/bpf.h (UAPI: stable across kernels) that the bindings and callers use. */

export const MapType = {
  HASH: 1,
  ARRAY: 2,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  SOCKHASH: 18,
  SK_STORAGE: 24,
  RINGBUF: 27,
  TASK_STORAGE: 29,
} as const;
export type MapTypeName = keyof typeof MapType;

/** Per-CPU map types: a lookup returns one value slot per possible CPU. */
export const PERCPU_MAP_TYPES: ReadonlySet<number> = new Set([MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH]);

export const ProgType = {
  SOCKET_FILTER: 1,
  KPROBE: 2,
  SCHED_CLS: 3,
  TRACEPOINT: 5,
  XDP: 6,
  CGROUP_SKB: 8,
  CGROUP_SOCK: 9,
  SOCK_OPS: 13,
  SK_MSG: 16,
  RAW_TRACEPOINT: 17,
  CGROUP_SOCK_ADDR: 18,
  TRACING: 26,
  LSM: 29,
  SYSCALL: 31,
} as const;

/** enum bpf_attach_type (for bpf_link_create). BPF_TCX_* exist from Linux 6.6 (libbpf 1.1 has no tcx API). */
export const AttachType = {
  CGROUP_INET_EGRESS: 1,
  CGROUP_SOCK_OPS: 3,
  SK_MSG_VERDICT: 7,
  CGROUP_INET4_CONNECT: 10,
  CGROUP_INET6_CONNECT: 11,
  CGROUP_UDP4_SENDMSG: 14,
  CGROUP_UDP6_SENDMSG: 15,
  TRACE_RAW_TP: 23,
  TRACE_FENTRY: 24,
  CGROUP_INET4_GETPEERNAME: 29,
  CGROUP_INET6_GETPEERNAME: 30,
  XDP: 37,
  TCX_INGRESS: 46,
  TCX_EGRESS: 47,
} as const;

/** bpf_map_update_elem flags. */
export const UpdateFlag = { any: 0, noexist: 1, exist: 2 } as const;
export type UpdateMode = keyof typeof UpdateFlag;

/** map_flags */
export const MapFlag = { NO_PREALLOC: 1, RDONLY_PROG: 128, INNER_MAP: 4096 } as const;

/** The name of a map type number (`LPM_TRIE`), or `type <n>`. */
export function mapTypeName(type: number): string {
  for (const [name, n] of Object.entries(MapType)) if (n === type) return name;
  return `type ${type}`;
}

export function progTypeName(type: number): string {
  for (const [name, n] of Object.entries(ProgType)) if (n === type) return name;
  return `type ${type}`;
}
