/**
 * A libbpf `struct bpf_link`: an attachment held by an fd. Closing it (destroy) detaches unless
 * the link is pinned in bpffs: a pinned link stays attached until its pin is removed and every fd
 * is closed, which is how enforcement survives the daemon (fail closed).
 */
import type { Pointer } from "bun:ffi";
import { checkInt, checkPtr } from "./check.ts";
import { cString } from "./libc.ts";
import { loadLibbpf } from "./load.ts";
import { linkDetach } from "./syscalls.ts";

export class BpfLink {
  #ptr: Pointer | undefined;
  /** Where it is pinned (set by pin/open), if anywhere. */
  pinnedAt: string | undefined;

  constructor(
    p: Pointer,
    /** What it attaches, for messages (`connect4 → /sys/fs/cgroup/unified`). */
    readonly description: string,
  ) {
    this.#ptr = p;
  }

  /** bpf_link__open: adopt the link pinned at `path` (e.g. after a restart). */
  static open(path: string): BpfLink {
    const p = checkPtr("ERR_BPF_PIN", "bpf_link__open", loadLibbpf().sym.bpf_link__open(cString(path)), { subject: path });
    const link = new BpfLink(p, `pinned ${path}`);
    link.pinnedAt = path;
    return link;
  }

  get fd(): number {
    return loadLibbpf().sym.bpf_link__fd(this.#live());
  }

  get destroyed(): boolean {
    return this.#ptr === undefined;
  }

  /** bpf_link__pin: the attachment now outlives this process. */
  pin(path: string): void {
    checkInt("ERR_BPF_PIN", "bpf_link__pin", loadLibbpf().sym.bpf_link__pin(this.#live(), cString(path)), { subject: path });
    this.pinnedAt = path;
  }

  /** bpf_link__unpin: removes the pin; the link detaches once destroyed (and no other fd holds it). */
  unpin(): void {
    checkInt("ERR_BPF_PIN", "bpf_link__unpin", loadLibbpf().sym.bpf_link__unpin(this.#live()), { subject: this.pinnedAt ?? this.description });
    this.pinnedAt = undefined;
  }

  /**
   * bpf_link__update_program: swap the program behind this link in one step (no moment without
   * a program attached) — how a restarted daemon replaces the pinned link's program with the one
   * it just loaded. The new program must have the same type and attach type.
   */
  updateProgram(program: { readonly ptr: Pointer; readonly name: string }): void {
    checkInt("ERR_BPF_ATTACH", "bpf_link__update_program", loadLibbpf().sym.bpf_link__update_program(this.#live(), program.ptr), {
      subject: `${this.pinnedAt ?? this.description} → ${program.name}`,
    });
  }

  /**
   * Detaches now (BPF_LINK_DETACH), even while pinned or held elsewhere; the link object stays
   * (defunct) until destroyed. false when the kernel cannot detach this link type on demand.
   */
  detach(): boolean {
    return linkDetach(this.fd, this.pinnedAt ?? this.description);
  }

  /** bpf_link__destroy: closes the fd (detaching an unpinned link) and frees the handle. Idempotent. */
  destroy(): void {
    if (this.#ptr === undefined) return;
    const p = this.#ptr;
    this.#ptr = undefined;
    checkInt("ERR_BPF_ATTACH", "bpf_link__destroy", loadLibbpf().sym.bpf_link__destroy(p), { subject: this.description });
  }

  #live(): Pointer {
    if (this.#ptr === undefined) throw new TypeError(`link ${this.description} was destroyed`);
    return this.#ptr;
  }
}
