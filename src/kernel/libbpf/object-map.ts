/**
 * A map of a BpfObject (libbpf `struct bpf_map`): its definition, its fd once loaded, and the
 * calls that adopt a pinned map on restart — set_pin_path before load (libbpf reuses the pin when
 * it is compatible, else creates the map and pins it there on load) or reuse_fd with an fd from
 * bpf_obj_get. For typed element access wrap it: `BpfMap.fromObjectMap(map, codec)`.
 */
import type { Pointer } from "bun:ffi";
import { checkInt } from "./check.ts";
import { mapTypeName } from "./constants.ts";
import { cString } from "./libc.ts";
import { loadLibbpf } from "./load.ts";

export class ObjectMap {
  constructor(
    readonly ptr: Pointer,
    readonly name: string,
    readonly objectName: string,
    private readonly assertOpen: () => void,
  ) {}

  get fd(): number {
    this.assertOpen();
    return loadLibbpf().sym.bpf_map__fd(this.ptr);
  }
  get type(): number {
    this.assertOpen();
    return loadLibbpf().sym.bpf_map__type(this.ptr);
  }
  get typeName(): string {
    return mapTypeName(this.type);
  }
  get keySize(): number {
    this.assertOpen();
    return loadLibbpf().sym.bpf_map__key_size(this.ptr);
  }
  get valueSize(): number {
    this.assertOpen();
    return loadLibbpf().sym.bpf_map__value_size(this.ptr);
  }
  get maxEntries(): number {
    this.assertOpen();
    return loadLibbpf().sym.bpf_map__max_entries(this.ptr);
  }

  /** Before load: e.g. a ring buffer's size in bytes (a power of two, multiple of the page size). */
  setMaxEntries(n: number): void {
    this.assertOpen();
    checkInt("ERR_BPF_MAP", "bpf_map__set_max_entries", loadLibbpf().sym.bpf_map__set_max_entries(this.ptr, n), { subject: this.name });
  }

  /** Before load: adopt the map pinned at `path` if compatible, else create it and pin it there on load. */
  setPinPath(path: string): void {
    this.assertOpen();
    checkInt("ERR_BPF_PIN", "bpf_map__set_pin_path", loadLibbpf().sym.bpf_map__set_pin_path(this.ptr, cString(path)), { subject: `${this.name} → ${path}` });
  }

  /** Before load: use an existing map fd (libbpf dups it) instead of creating the map. */
  reuseFd(fd: number): void {
    this.assertOpen();
    checkInt("ERR_BPF_MAP", "bpf_map__reuse_fd", loadLibbpf().sym.bpf_map__reuse_fd(this.ptr, fd), { subject: this.name });
  }

  /** After load: pin at `path` (or at the pin path set before). */
  pin(path?: string): void {
    this.assertOpen();
    const arg = path === undefined ? null : cString(path);
    checkInt("ERR_BPF_PIN", "bpf_map__pin", loadLibbpf().sym.bpf_map__pin(this.ptr, arg), { subject: `${this.name} → ${path ?? "its pin path"}` });
  }

  unpin(path?: string): void {
    this.assertOpen();
    const arg = path === undefined ? null : cString(path);
    checkInt("ERR_BPF_PIN", "bpf_map__unpin", loadLibbpf().sym.bpf_map__unpin(this.ptr, arg), { subject: `${this.name} → ${path ?? "its pin path"}` });
  }
}
