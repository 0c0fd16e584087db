/**
 * A BPF ELF object opened from memory and loaded into the kernel (libbpf `struct bpf_object`).
 *
 *   const obj = BpfObject.openMem(bytes, { name: "sluice" });
 *   obj.map("procs").setPinPath("/sys/fs/bpf/sluice/procs");   // before load: adopt or create+pin
 *   obj.load();                                                 // verifier; KernelError.log has its reason
 *   const link = obj.program("connect4").attachCgroup(cgroupRoot);
 *
 * The ELF bytes and the name stay referenced until close (libbpf reads them until load and keeps
 * the name). Closing the object closes its program and map fds; links and pins keep what they hold.
 */
import type { Pointer } from "bun:ffi";
import { KernelError } from "../errors.ts";
import { checkInt, checkPtr, optionalPtr } from "./check.ts";
import { cString } from "./libc.ts";
import { loadLibbpf } from "./load.ts";
import { ObjectMap } from "./object-map.ts";
import { openOpts, type NativeStruct, type OpenOptsInput } from "./opts.ts";
import { warningMark, warningsSince } from "./print.ts";
import { BpfProgram } from "./program.ts";

export interface OpenMemOptions {
  /** Object name (libbpf uses it in logs and as the prefix of internal .data/.bss map names). */
  name: string;
  /** Directory for maps declared with `pinning = LIBBPF_PIN_BY_NAME`. */
  pinRootPath?: string;
  kconfig?: string;
  /** A BTF file to use instead of /sys/kernel/btf/vmlinux for CO-RE relocations. */
  btfCustomPath?: string;
}

export class BpfObject {
  #ptr: Pointer | undefined;
  #loaded = false;
  /** Kept alive for libbpf until close: the ELF bytes and the opts' strings. */
  #keep: { bytes: Uint8Array; opts: NativeStruct } | undefined;

  private constructor(
    p: Pointer,
    readonly name: string,
    keep: { bytes: Uint8Array; opts: NativeStruct },
  ) {
    this.#ptr = p;
    this.#keep = keep;
  }

  /** bpf_object__open_mem: parse the ELF (no kernel calls yet). Bad bytes → ERR_BPF_OPEN. */
  static openMem(bytes: Uint8Array, options: OpenMemOptions): BpfObject {
    if (bytes.length === 0) throw new TypeError("BpfObject.openMem: empty object");
    const input: OpenOptsInput = { objectName: options.name };
    if (options.pinRootPath !== undefined) input.pinRootPath = options.pinRootPath;
    if (options.kconfig !== undefined) input.kconfig = options.kconfig;
    if (options.btfCustomPath !== undefined) input.btfCustomPath = options.btfCustomPath;
    const opts = openOpts(input);
    const copy = new Uint8Array(bytes); // libbpf reads it until load: nobody else may change it
    const mark = warningMark();
    const sym = loadLibbpf().sym;
    const raw = sym.bpf_object__open_mem(copy, copy.length, opts.bytes);
    try {
      const p = checkPtr("ERR_BPF_OPEN", "bpf_object__open_mem", raw, { subject: options.name });
      return new BpfObject(p, options.name, { bytes: copy, opts });
    } catch (err) {
      if (err instanceof KernelError) throw withLog(err, warningsSince(mark));
      throw err;
    }
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  get closed(): boolean {
    return this.#ptr === undefined;
  }

  /** bpf_object__load: creates maps (or reuses pins), relocates, verifies and loads every program. */
  load(): void {
    const p = this.#live();
    const mark = warningMark();
    const rc = loadLibbpf().sym.bpf_object__load(p);
    if (rc < 0) {
      const log = warningsSince(mark);
      const reason = loadFailureReason(log);
      checkInt("ERR_BPF_LOAD", "bpf_object__load", rc, { subject: this.name, log, ...(reason ? { hint: reason } : {}) });
    }
    this.#loaded = true;
  }

  /** The program named `name` (its C function name). Missing → ERR_BPF_NOT_FOUND listing the names. */
  program(name: string): BpfProgram {
    const p = optionalPtr(loadLibbpf().sym.bpf_object__find_program_by_name(this.#live(), cString(name)));
    if (p === undefined) {
      const have = this.programs().map((x) => x.name);
      throw new KernelError("ERR_BPF_NOT_FOUND", "bpf_object__find_program_by_name", `object ${this.name} has no program "${name}" (it has: ${have.join(", ") || "none"})`);
    }
    return new BpfProgram(p, name, this.name, () => void this.#live());
  }

  /** The map named `name`. Missing → ERR_BPF_NOT_FOUND listing the names. */
  map(name: string): ObjectMap {
    const p = optionalPtr(loadLibbpf().sym.bpf_object__find_map_by_name(this.#live(), cString(name)));
    if (p === undefined) {
      const have = this.maps().map((x) => x.name);
      throw new KernelError("ERR_BPF_NOT_FOUND", "bpf_object__find_map_by_name", `object ${this.name} has no map "${name}" (it has: ${have.join(", ") || "none"})`);
    }
    return new ObjectMap(p, name, this.name, () => void this.#live());
  }

  programs(): BpfProgram[] {
    const sym = loadLibbpf().sym;
    const out: BpfProgram[] = [];
    for (let p = optionalPtr(sym.bpf_object__next_program(this.#live(), null)); p !== undefined; p = optionalPtr(sym.bpf_object__next_program(this.#live(), p))) {
      out.push(new BpfProgram(p, String(sym.bpf_program__name(p)), this.name, () => void this.#live()));
    }
    return out;
  }

  /** Every map, including libbpf's internal ones (`<name>.bss`, `.rodata`…). */
  maps(): ObjectMap[] {
    const sym = loadLibbpf().sym;
    const out: ObjectMap[] = [];
    for (let p = optionalPtr(sym.bpf_object__next_map(this.#live(), null)); p !== undefined; p = optionalPtr(sym.bpf_object__next_map(this.#live(), p))) {
      out.push(new ObjectMap(p, String(sym.bpf_map__name(p)), this.name, () => void this.#live()));
    }
    return out;
  }

  /** bpf_object__close: frees the object and closes its fds (links and pins keep what they hold). Idempotent. */
  close(): void {
    if (this.#ptr === undefined) return;
    loadLibbpf().sym.bpf_object__close(this.#ptr);
    this.#ptr = undefined;
    this.#keep = undefined;
  }

  #live(): Pointer {
    if (this.#ptr === undefined) throw new TypeError(`BPF object ${this.name} is closed`);
    return this.#ptr;
  }
}

/** The verifier's reason: its last line before the statistics and libbpf's END marker, else libbpf's last warning. */
function loadFailureReason(log: readonly string[]): string | undefined {
  const end = log.findLastIndex((l) => l.includes("-- END PROG LOAD LOG --"));
  for (let i = end - 1; i > 0 && !log[i]!.includes("BEGIN PROG LOAD LOG"); i--) {
    if (!/^(processed \d+ insns|verification time|stack depth|func#\d)/.test(log[i]!)) return log[i];
  }
  return log.at(-1);
}

function withLog(err: KernelError, log: readonly string[]): KernelError {
  if (log.length === 0) return err;
  return new KernelError(err.code, err.call, `${err.message}: ${log.at(-1)}`, { ...(err.errnoNumber !== undefined ? { errno: err.errnoNumber } : {}), log });
}
