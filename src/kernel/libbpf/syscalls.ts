/**
 * The fd-level libbpf calls (thin wrappers over the bpf() syscall): map element operations, map
 * creation, pinning by path, link creation and test runs. Lookups report ENOENT as a result, not
 * an error; everything else that fails throws a KernelError naming the call.
 */
import { checkInt } from "./check.ts";
import { ENOENT, ENOTSUPP, EOPNOTSUPP } from "./errno.ts";
import { cString } from "./libc.ts";
import { loadLibbpf } from "./load.ts";
import { linkCreateOpts, mapCreateOpts, testRunOpts, TEST_RUN_OPTS_LAYOUT, type MapCreateOptsInput, type TestRunOptsInput } from "./opts.ts";

const sym = () => loadLibbpf().sym;

export interface MapCreateInput extends MapCreateOptsInput {
  type: number;
  /** Kernel map name (at most 15 bytes; longer is cut by the kernel). */
  name: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

/** bpf_map_create → a new map fd (the caller owns it). */
export function mapCreate(input: MapCreateInput): number {
  const opts = mapCreateOpts(input);
  const name = cString(input.name);
  const rc = sym().bpf_map_create(input.type, name, input.keySize, input.valueSize, input.maxEntries, opts.bytes);
  return checkInt("ERR_BPF_MAP", "bpf_map_create", rc, { subject: input.name });
}

export function mapUpdate(fd: number, key: Uint8Array, value: Uint8Array, flags: number, subject?: string): void {
  checkInt("ERR_BPF_MAP", "bpf_map_update_elem", sym().bpf_map_update_elem(fd, key, value, flags), subject === undefined ? {} : { subject });
}

/** Fills `value`; false when the key is absent. */
export function mapLookup(fd: number, key: Uint8Array, value: Uint8Array, subject?: string): boolean {
  const rc = sym().bpf_map_lookup_elem(fd, key, value);
  if (rc === -ENOENT) return false;
  checkInt("ERR_BPF_MAP", "bpf_map_lookup_elem", rc, subject === undefined ? {} : { subject });
  return true;
}

/** false when the key was absent. */
export function mapDelete(fd: number, key: Uint8Array, subject?: string): boolean {
  const rc = sym().bpf_map_delete_elem(fd, key);
  if (rc === -ENOENT) return false;
  checkInt("ERR_BPF_MAP", "bpf_map_delete_elem", rc, subject === undefined ? {} : { subject });
  return true;
}

/** Writes the key after `key` (the first key when `key` is null) into `next`; false at the end. */
export function mapNextKey(fd: number, key: Uint8Array | null, next: Uint8Array, subject?: string): boolean {
  const rc = sym().bpf_map_get_next_key(fd, key, next);
  if (rc === -ENOENT) return false;
  checkInt("ERR_BPF_MAP", "bpf_map_get_next_key", rc, subject === undefined ? {} : { subject });
  return true;
}

/** bpf_obj_pin: pins any BPF fd (map, program, link) at `path` on a bpffs. */
export function objPin(fd: number, path: string): void {
  checkInt("ERR_BPF_PIN", "bpf_obj_pin", sym().bpf_obj_pin(fd, cString(path)), { subject: path });
}

/** bpf_obj_get: a new fd for the object pinned at `path` (the caller owns it). */
export function objGet(path: string): number {
  return checkInt("ERR_BPF_PIN", "bpf_obj_get", sym().bpf_obj_get(cString(path)), { subject: path });
}

/**
 * bpf_link_create (e.g. tcx on libbpf 1.1: target = ifindex, type = TCX_EGRESS; XDP: type XDP,
 * flags XDP_FLAGS_*) → link fd.
 */
export function linkCreate(progFd: number, targetFd: number, attachType: number, flags = 0): number {
  const opts = flags === 0 ? null : linkCreateOpts(flags).bytes;
  return checkInt("ERR_BPF_ATTACH", "bpf_link_create", sym().bpf_link_create(progFd, targetFd, attachType, opts));
}

/**
 * bpf_link_detach (BPF_LINK_DETACH): detaches the link now, whoever else holds it (pins, fds). A
 * link type without detach support (older kernels' tracing links) gives EOPNOTSUPP: false.
 */
export function linkDetach(linkFd: number, subject?: string): boolean {
  const rc = sym().bpf_link_detach(linkFd);
  if (rc === -EOPNOTSUPP || rc === -ENOTSUPP) return false;
  checkInt("ERR_BPF_ATTACH", "bpf_link_detach", rc, subject === undefined ? {} : { subject });
  return true;
}

/**
 * bpf_link_update (BPF_LINK_UPDATE): the link runs `progFd` from now on, with no moment without a
 * program (cgroup, XDP, tcx links; not tracing links: EOPNOTSUPP/EINVAL there).
 */
export function linkUpdate(linkFd: number, progFd: number, subject?: string): void {
  checkInt("ERR_BPF_ATTACH", "bpf_link_update", sym().bpf_link_update(linkFd, progFd, null), subject === undefined ? {} : { subject });
}

export interface TestRunResult {
  retval: number;
  /** Average ns per repetition, as the kernel measured it. */
  durationNs: number;
}

/** bpf_prog_test_run_opts (runs a program in the kernel `repeat` times on the given input). */
export function progTestRun(progFd: number, input: TestRunOptsInput): TestRunResult {
  const opts = testRunOpts(input);
  checkInt("ERR_BPF_SYSCALL", "bpf_prog_test_run_opts", sym().bpf_prog_test_run_opts(progFd, opts.bytes));
  return { retval: opts.view.getUint32(TEST_RUN_OPTS_LAYOUT.retval, true), durationNs: opts.view.getUint32(TEST_RUN_OPTS_LAYOUT.duration, true) };
}
