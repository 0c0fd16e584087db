/**
 * libbpf's `*_opts` structs, laid out by hand (x86_64/arm64 LP64; offsets checked against the C
 * headers by test/kernel/libbpf/opts-layout.test.ts). Every pointer field points into a buffer
 * that the returned `keep` array holds: keep it referenced for as long as libbpf may read it
 * (for bpf_object__open_mem's name: until the object is closed).
 */
import { ptr } from "bun:ffi";
import { cString } from "./libc.ts";

export const OPEN_OPTS_LAYOUT = {
  size: 80,
  object_name: 8,
  relaxed_maps: 16,
  pin_root_path: 24,
  kconfig: 40,
  btf_custom_path: 48,
  kernel_log_buf: 56,
  kernel_log_size: 64,
  kernel_log_level: 72,
} as const;

export const MAP_CREATE_OPTS_LAYOUT = { size: 48, btf_fd: 8, inner_map_fd: 24, map_flags: 28, map_extra: 32, numa_node: 40, map_ifindex: 44 } as const;

export const TEST_RUN_OPTS_LAYOUT = {
  size: 80,
  data_in: 8,
  data_out: 16,
  data_size_in: 24,
  data_size_out: 28,
  ctx_in: 32,
  ctx_out: 40,
  ctx_size_in: 48,
  ctx_size_out: 52,
  retval: 56,
  repeat: 60,
  duration: 64,
  flags: 68,
  cpu: 72,
  batch_size: 76,
} as const;

/** struct bpf_link_create_opts: only `flags` is set by sluice (XDP mode). */
export const LINK_CREATE_OPTS_LAYOUT = { size: 64, flags: 8 } as const;

export function linkCreateOpts(flags: number): NativeStruct {
  const s = struct(LINK_CREATE_OPTS_LAYOUT.size);
  s.view.setUint32(LINK_CREATE_OPTS_LAYOUT.flags, flags, true);
  return s;
}

/** struct bpf_tc_hook / bpf_tc_opts (libbpf ≥ 0.4). */
export const TC_HOOK_LAYOUT = { size: 24, ifindex: 8, attach_point: 12, parent: 16 } as const;
export const TC_OPTS_LAYOUT = { size: 32, prog_fd: 8, flags: 12, prog_id: 16, handle: 20, priority: 24 } as const;

export interface NativeStruct {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Buffers the struct points into. */
  readonly keep: Uint8Array[];
}

function struct(size: number): NativeStruct {
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(size), true); // every opts struct starts with `size_t sz`
  return { bytes, view, keep: [] };
}

function setPointer(s: NativeStruct, offset: number, target: Uint8Array): void {
  s.keep.push(target);
  s.view.setBigUint64(offset, BigInt(ptr(target)), true);
}

export interface OpenOptsInput {
  objectName: string;
  pinRootPath?: string;
  kconfig?: string;
  btfCustomPath?: string;
}

export function openOpts(input: OpenOptsInput): NativeStruct {
  const L = OPEN_OPTS_LAYOUT;
  const s = struct(L.size);
  setPointer(s, L.object_name, cString(input.objectName));
  if (input.pinRootPath !== undefined) setPointer(s, L.pin_root_path, cString(input.pinRootPath));
  if (input.kconfig !== undefined) setPointer(s, L.kconfig, cString(input.kconfig));
  if (input.btfCustomPath !== undefined) setPointer(s, L.btf_custom_path, cString(input.btfCustomPath));
  return s;
}

export interface MapCreateOptsInput {
  innerMapFd?: number;
  mapFlags?: number;
  mapExtra?: bigint;
}

export function mapCreateOpts(input: MapCreateOptsInput): NativeStruct {
  const L = MAP_CREATE_OPTS_LAYOUT;
  const s = struct(L.size);
  if (input.innerMapFd !== undefined) s.view.setUint32(L.inner_map_fd, input.innerMapFd, true);
  if (input.mapFlags !== undefined) s.view.setUint32(L.map_flags, input.mapFlags, true);
  if (input.mapExtra !== undefined) s.view.setBigUint64(L.map_extra, input.mapExtra, true);
  return s;
}

export interface TestRunOptsInput {
  dataIn?: Uint8Array;
  ctxIn?: Uint8Array;
  repeat?: number;
  flags?: number;
}

export function testRunOpts(input: TestRunOptsInput): NativeStruct {
  const L = TEST_RUN_OPTS_LAYOUT;
  const s = struct(L.size);
  if (input.dataIn) {
    setPointer(s, L.data_in, input.dataIn);
    s.view.setUint32(L.data_size_in, input.dataIn.length, true);
  }
  if (input.ctxIn) {
    setPointer(s, L.ctx_in, input.ctxIn);
    s.view.setUint32(L.ctx_size_in, input.ctxIn.length, true);
  }
  if (input.repeat !== undefined) s.view.setInt32(L.repeat, input.repeat, true);
  if (input.flags !== undefined) s.view.setUint32(L.flags, input.flags, true);
  return s;
}

/** enum bpf_tc_attach_point. */
export const TcAttachPoint = { INGRESS: 1, EGRESS: 2 } as const;
/** BPF_TC_F_REPLACE: bpf_tc_attach replaces the filter at (handle, priority). */
export const TC_F_REPLACE = 1;

export function tcHook(ifindex: number, attachPoint: number): NativeStruct {
  const s = struct(TC_HOOK_LAYOUT.size);
  s.view.setInt32(TC_HOOK_LAYOUT.ifindex, ifindex, true);
  s.view.setUint32(TC_HOOK_LAYOUT.attach_point, attachPoint, true);
  return s;
}

export interface TcOptsInput {
  handle: number;
  priority: number;
  progFd?: number;
  flags?: number;
}

export function tcOpts(input: TcOptsInput): NativeStruct {
  const L = TC_OPTS_LAYOUT;
  const s = struct(L.size);
  if (input.progFd !== undefined) s.view.setInt32(L.prog_fd, input.progFd, true);
  if (input.flags !== undefined) s.view.setUint32(L.flags, input.flags, true);
  s.view.setUint32(L.handle, input.handle, true);
  s.view.setUint32(L.priority, input.priority, true);
  return s;
}
