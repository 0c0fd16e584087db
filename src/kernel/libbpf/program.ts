/** A program of a loaded BpfObject (libbpf `struct bpf_program`): its fd, type and attach calls. */
import type { Pointer } from "bun:ffi";
import { closeSync, openSync } from "node:fs";
import { checkPtr } from "./check.ts";
import { progTypeName } from "./constants.ts";
import { loadLibbpf } from "./load.ts";
import { BpfLink } from "./link.ts";

export class BpfProgram {
  constructor(
    readonly ptr: Pointer,
    readonly name: string,
    /** Owning object's name, for messages. */
    readonly objectName: string,
    /** Throws if the owning object was closed (its program pointers are freed with it). */
    private readonly assertOpen: () => void,
  ) {}

  /** ELF section (`cgroup/connect4`, `tp_btf/sched_process_fork`…). */
  get section(): string {
    this.assertOpen();
    return String(loadLibbpf().sym.bpf_program__section_name(this.ptr) ?? "");
  }

  /** Program fd once loaded (-1 before, or for a program not loaded). */
  get fd(): number {
    this.assertOpen();
    return loadLibbpf().sym.bpf_program__fd(this.ptr);
  }

  /** enum bpf_prog_type (see ProgType). */
  get type(): number {
    this.assertOpen();
    return loadLibbpf().sym.bpf_program__type(this.ptr);
  }

  get typeName(): string {
    return progTypeName(this.type);
  }

  /**
   * bpf_program__attach_cgroup: a cgroup-BPF link (multi-attach) on the cgroup v2 directory
   * `cgroup` (a path, or an open directory fd). The link holds its own cgroup reference.
   */
  attachCgroup(cgroup: string | number): BpfLink {
    this.assertOpen();
    const fd = typeof cgroup === "number" ? cgroup : openSync(cgroup, "r");
    try {
      const what = `${this.name} → ${typeof cgroup === "number" ? `cgroup fd ${cgroup}` : cgroup}`;
      const p = checkPtr("ERR_BPF_ATTACH", "bpf_program__attach_cgroup", loadLibbpf().sym.bpf_program__attach_cgroup(this.ptr, fd), { subject: what });
      return new BpfLink(p, what);
    } finally {
      if (typeof cgroup !== "number") closeSync(fd);
    }
  }

  /** bpf_program__attach: auto-attach by section (tracepoints, tp_btf, raw_tp, fentry…). */
  attach(): BpfLink {
    this.assertOpen();
    const p = checkPtr("ERR_BPF_ATTACH", "bpf_program__attach", loadLibbpf().sym.bpf_program__attach(this.ptr), { subject: `${this.name} (${this.section})` });
    return new BpfLink(p, `${this.name} (${this.section})`);
  }
}
