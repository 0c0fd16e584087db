/**
 * The libbpf 1.1 functions sluice calls, as bun:ffi declarations: only the ones used. `size_t`
 * is u64 (x86_64/arm64). Pointer-returning calls give NULL and set errno on failure; int calls
 * return -errno (libbpf 1.x strict mode, its default).
 */
import { FFIType, type Library } from "bun:ffi";

const { i32, u32, u64, ptr, void: none, cstring, function: fn } = FFIType;

export const LIBBPF_SYMBOLS = {
  libbpf_major_version: { args: [], returns: u32 },
  libbpf_minor_version: { args: [], returns: u32 },
  libbpf_strerror: { args: [i32, ptr, u64], returns: i32 },
  libbpf_set_print: { args: [fn], returns: ptr },
  libbpf_num_possible_cpus: { args: [], returns: i32 },

  bpf_object__open_mem: { args: [ptr, u64, ptr], returns: ptr },
  bpf_object__load: { args: [ptr], returns: i32 },
  bpf_object__close: { args: [ptr], returns: none },
  bpf_object__find_program_by_name: { args: [ptr, ptr], returns: ptr },
  bpf_object__find_map_by_name: { args: [ptr, ptr], returns: ptr },
  bpf_object__next_program: { args: [ptr, ptr], returns: ptr },
  bpf_object__next_map: { args: [ptr, ptr], returns: ptr },

  bpf_program__name: { args: [ptr], returns: cstring },
  bpf_program__section_name: { args: [ptr], returns: cstring },
  bpf_program__fd: { args: [ptr], returns: i32 },
  bpf_program__type: { args: [ptr], returns: u32 },
  bpf_program__attach: { args: [ptr], returns: ptr },
  bpf_program__attach_cgroup: { args: [ptr, i32], returns: ptr },

  bpf_link__open: { args: [ptr], returns: ptr },
  bpf_link__fd: { args: [ptr], returns: i32 },
  bpf_link__pin: { args: [ptr, ptr], returns: i32 },
  bpf_link__unpin: { args: [ptr], returns: i32 },
  bpf_link__destroy: { args: [ptr], returns: i32 },
  bpf_link__update_program: { args: [ptr, ptr], returns: i32 },

  bpf_map__name: { args: [ptr], returns: cstring },
  bpf_map__fd: { args: [ptr], returns: i32 },
  bpf_map__type: { args: [ptr], returns: u32 },
  bpf_map__key_size: { args: [ptr], returns: u32 },
  bpf_map__value_size: { args: [ptr], returns: u32 },
  bpf_map__max_entries: { args: [ptr], returns: u32 },
  bpf_map__set_max_entries: { args: [ptr, u32], returns: i32 },
  bpf_map__pin: { args: [ptr, ptr], returns: i32 },
  bpf_map__unpin: { args: [ptr, ptr], returns: i32 },
  bpf_map__set_pin_path: { args: [ptr, ptr], returns: i32 },
  bpf_map__reuse_fd: { args: [ptr, i32], returns: i32 },

  bpf_obj_pin: { args: [i32, ptr], returns: i32 },
  bpf_obj_get: { args: [ptr], returns: i32 },
  bpf_map_create: { args: [u32, ptr, u32, u32, u32, ptr], returns: i32 },
  bpf_map_update_elem: { args: [i32, ptr, ptr, u64], returns: i32 },
  bpf_map_lookup_elem: { args: [i32, ptr, ptr], returns: i32 },
  bpf_map_delete_elem: { args: [i32, ptr], returns: i32 },
  bpf_map_get_next_key: { args: [i32, ptr, ptr], returns: i32 },
  bpf_link_create: { args: [i32, i32, u32, ptr], returns: i32 },
  bpf_link_detach: { args: [i32], returns: i32 },
  bpf_link_update: { args: [i32, i32, ptr], returns: i32 },
  bpf_prog_test_run_opts: { args: [i32, ptr], returns: i32 },

  // cls_bpf on a clsact qdisc (netlink): the TC attach where the kernel has no tcx (< 6.6).
  bpf_tc_hook_create: { args: [ptr], returns: i32 },
  bpf_tc_attach: { args: [ptr, ptr], returns: i32 },
  bpf_tc_detach: { args: [ptr, ptr], returns: i32 },
  bpf_tc_query: { args: [ptr, ptr], returns: i32 },

  ring_buffer__new: { args: [i32, fn, ptr, ptr], returns: ptr },
  ring_buffer__poll: { args: [ptr, i32], returns: i32 },
  ring_buffer__consume: { args: [ptr], returns: i32 },
  ring_buffer__free: { args: [ptr], returns: none },
} as const;

/** Symbol names the bindings need: the vendored .so must export every one (checked by a test). */
export const LIBBPF_SYMBOL_NAMES: readonly string[] = Object.keys(LIBBPF_SYMBOLS);

export type LibbpfSymbols = Library<typeof LIBBPF_SYMBOLS>["symbols"];
