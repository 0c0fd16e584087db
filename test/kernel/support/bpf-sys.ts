/**
 * The few raw bpf() calls the program-level tests need that bpftool 7.1 cannot do, straight
 * through libc's syscall() (independent of src/kernel/libbpf): open a pinned object, attach a
 * tp_btf program (BPF_RAW_TRACEPOINT_OPEN → link fd, detached on close), and read a pinned ring
 * buffer through mmap like libbpf's ring_buffer__consume.
 */
import { dlopen, FFIType, ptr, read, toArrayBuffer, type Pointer } from "bun:ffi";

const SYS_bpf = 321n; // x86_64
const BPF_OBJ_GET = 7n;
const BPF_RAW_TRACEPOINT_OPEN = 17n;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;

const libc = dlopen("libc.so.6", {
  syscall: { args: [FFIType.i64, FFIType.i64, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  mmap: { args: [FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.i32, FFIType.i32, FFIType.i64], returns: FFIType.ptr },
  munmap: { args: [FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
  getpagesize: { args: [], returns: FFIType.i32 },
});

function errno(): number {
  return read.i32(libc.symbols.__errno_location()!, 0);
}

function bpf(cmd: bigint, attr: Uint8Array, what: string): number {
  const r = Number(libc.symbols.syscall(SYS_bpf, cmd, ptr(attr), BigInt(attr.byteLength)));
  if (r < 0) throw new Error(`${what}: errno ${errno()}`);
  return r;
}

/** fd of a pinned program or map. */
export function objGet(path: string): number {
  const name = new TextEncoder().encode(`${path}\0`);
  const attr = new Uint8Array(16);
  new DataView(attr.buffer).setBigUint64(0, BigInt(ptr(name)), true);
  const fd = bpf(BPF_OBJ_GET, attr, `BPF_OBJ_GET ${path}`);
  void name; // keep referenced for the call
  return fd;
}

/** Attach a loaded tp_btf program; returns the link fd (closing it detaches). */
export function attachTracing(progPath: string): number {
  const prog = objGet(progPath);
  try {
    const attr = new Uint8Array(16);
    new DataView(attr.buffer).setUint32(8, prog, true); // {u64 name = NULL; u32 prog_fd}
    return bpf(BPF_RAW_TRACEPOINT_OPEN, attr, `BPF_RAW_TRACEPOINT_OPEN ${progPath}`);
  } finally {
    libc.symbols.close(prog);
  }
}

export function closeFd(fd: number): void {
  libc.symbols.close(fd);
}

/** Consumes a pinned BPF ring buffer of `size` data bytes (the map's max_entries). */
export class RingbufTap {
  readonly #fd: number;
  readonly #page: number;
  readonly #size: number;
  readonly #cons: Pointer;
  readonly #prod: Pointer;

  constructor(path: string, size: number) {
    this.#fd = objGet(path);
    this.#page = libc.symbols.getpagesize();
    this.#size = size;
    const cons = libc.symbols.mmap(null, BigInt(this.#page), PROT_READ | PROT_WRITE, MAP_SHARED, this.#fd, 0n);
    const prod = libc.symbols.mmap(null, BigInt(this.#page + 2 * size), PROT_READ, MAP_SHARED, this.#fd, BigInt(this.#page));
    if (!cons || Number(cons) === -1 || !prod || Number(prod) === -1) throw new Error(`mmap ring buffer ${path}: errno ${errno()}`);
    this.#cons = cons as Pointer;
    this.#prod = prod as Pointer;
  }

  /** Every record available now (copies), oldest first; advances the consumer position. */
  drain(): Uint8Array[] {
    const consView = new DataView(toArrayBuffer(this.#cons, 0, 8));
    const data = new Uint8Array(toArrayBuffer(this.#prod, this.#page, 2 * this.#size));
    let cons = consView.getBigUint64(0, true);
    const prod = read.u64(this.#prod, 0);
    const out: Uint8Array[] = [];
    const mask = BigInt(this.#size - 1);
    while (cons < prod) {
      const off = Number(cons & mask);
      const hdr = new DataView(data.buffer, data.byteOffset + off, 8).getUint32(0, true);
      if (hdr & 0x80000000) break; // BUSY: still being written
      const len = hdr & 0x3fffffff;
      if (!(hdr & 0x40000000)) out.push(data.slice(off + 8, off + 8 + len));
      cons += BigInt((len + 8 + 7) & ~7);
    }
    consView.setBigUint64(0, cons, true);
    return out;
  }

  close(): void {
    libc.symbols.munmap(this.#cons, BigInt(this.#page));
    libc.symbols.munmap(this.#prod, BigInt(this.#page + 2 * this.#size));
    libc.symbols.close(this.#fd);
  }
}
