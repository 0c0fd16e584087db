/**
 * The `sluice doctor` lines that need libbpf itself (host-probes.ts reads /proc and /sys only):
 *   - libbpf: the vendored shared object loads (from a memfd inside dist/sluice), and its version;
 *   - one line per program type sluice uses (cgroup_sock_addr, sock_ops, cgroup_sock, sched_cls,
 *     xdp, tp_btf): the real sluice.bpf.o is
 *     opened with only that type's programs set to load, and loaded — so those programs pass this
 *     kernel's verifier and every map is created — without attaching anything; then closed.
 *     cgroup_sock_addr is first asked of libbpf_probe_bpf_prog_type, to tell "the kernel has no
 *     such programs" from "the verifier rejects ours". Tracing is not: libbpf probes it with an
 *     fentry program, which says "no" on kernels where tp_btf works (this project's 6.18 host).
 * sluice loads its programs as one object, so any of these failing means `sluice serve` runs with
 * kernel enforcement unavailable; each line says so. Nothing here attaches or pins. A program of a
 * new type in bpf/ needs its line here.
 */
import { release } from "node:os";
import { readAssetBytes } from "../assets/index.ts";
import type { CheckResult, DoctorCheck } from "../doctor/index.ts";
import { silentLogger } from "../log/index.ts";
import { BPF_OBJECT_ASSET } from "./enforcer/attach.ts";
import { KernelError } from "./errors.ts";
import { effectiveCapabilities } from "./host-probes.ts";
import { ProgType } from "./libbpf/constants.ts";
import { loadLibbpf, type Libbpf } from "./libbpf/load.ts";
import { BpfObject } from "./libbpf/object.ts";
import { setLibbpfLogger } from "./libbpf/print.ts";
import { probeProgType, setAutoload } from "./libbpf/probe.ts";

const UNENFORCED = "sluice serve then runs with kernel enforcement UNAVAILABLE: egress is NOT enforced, and it says so (an error at start, a kernel.unavailable audit record, /healthz kernel.enforcing: false)";
const CAP_SYS_ADMIN = 21;
const CAP_BPF = 39;

function canLoadPrograms(): boolean {
  const caps = effectiveCapabilities();
  return ((caps >> BigInt(CAP_BPF)) & 1n) === 1n || ((caps >> BigInt(CAP_SYS_ADMIN)) & 1n) === 1n;
}

const NOT_PROBED: CheckResult = { status: "warn", message: "not probed: loading a BPF program needs CAP_BPF (see capabilities)", fix: "run sluice doctor as root to probe what sluice serve will load" };

/** libbpf for the probes; its log lines are kept for errors (KernelError.log), not printed over doctor's output. */
function libbpf(): Libbpf | CheckResult {
  try {
    const lib = loadLibbpf();
    setLibbpfLogger(silentLogger);
    return lib;
  } catch (err) {
    return { status: "fail", message: `not probed: libbpf did not load (${(err as Error).message})`, fix: UNENFORCED };
  }
}

function describeVia(lib: Libbpf): string {
  if (lib.via === "memfd") return "from a memfd inside this binary";
  if (lib.via === "tmpfile") return "from a private temp file (memfds are not executable on this host)";
  return `from ${lib.path} (running from source)`;
}

interface ProgTypeLine {
  /** The doctor line's name. */
  readonly name: string;
  readonly type: number;
  /** What these programs do in sluice. */
  readonly what: string;
  /** What the kernel needs for them. */
  readonly needs: string;
  /** Ask libbpf_probe_bpf_prog_type first (not for tracing: see the header). */
  readonly typeProbe: boolean;
}

function progTypeCheck(line: ProgTypeLine): DoctorCheck {
  return {
    name: line.name,
    run(): CheckResult {
      const lib = libbpf();
      if (!("sym" in lib)) return lib;
      if (!canLoadPrograms()) return NOT_PROBED;
      const without = `${line.needs}; without them ${UNENFORCED}`;
      if (line.typeProbe) {
        const probe = probeProgType(line.type);
        if (!probe.supported) return { status: "fail", message: `kernel ${release()} has no ${line.name} programs${probe.errno ? ` (${probe.errno})` : ""}: no ${line.what}`, fix: without };
      }
      let bytes: Uint8Array;
      try {
        bytes = readAssetBytes(BPF_OBJECT_ASSET);
      } catch (err) {
        return { status: "warn", message: `not probed: ${(err as Error).message}`, fix: "build the BPF object (bun run build.ts); dist/sluice embeds it" };
      }
      const started = performance.now();
      let object: BpfObject | undefined;
      try {
        object = BpfObject.openMem(bytes, { name: "sluice" });
        const mine = object.programs().filter((p) => p.type === line.type);
        if (mine.length === 0) return { status: "warn", message: `sluice.bpf.o has no ${line.name} program: nothing to probe` };
        for (const p of object.programs()) if (p.type !== line.type) setAutoload(p, false);
        object.load();
        const ms = Math.round(performance.now() - started);
        return { status: "ok", message: `kernel ${release()} loads sluice's ${line.what}: ${mine.map((p) => p.name).join(", ")} pass the verifier (sluice.bpf.o loaded in ${ms} ms, not attached, closed)` };
      } catch (err) {
        const message = err instanceof KernelError ? err.message : `load failed: ${(err as Error).message}`;
        return { status: "fail", message, fix: `sluice serve fails the same way when it attaches: ${without}` };
      } finally {
        object?.close();
      }
    },
  };
}

export const libbpfProbeChecks: readonly DoctorCheck[] = [
  {
    name: "libbpf",
    run(): CheckResult {
      try {
        const lib = loadLibbpf();
        return { status: "ok", message: `libbpf ${lib.version.major}.${lib.version.minor} (vendored libsluice-bpf.so) loaded ${describeVia(lib)}; ${lib.possibleCpus} possible CPUs` };
      } catch (err) {
        return { status: "fail", message: (err as Error).message, fix: `sluice cannot load its BPF programs without it; ${UNENFORCED}` };
      }
    },
  },
  progTypeCheck({
    name: "cgroup_sock_addr",
    type: ProgType.CGROUP_SOCK_ADDR,
    what: "egress hooks (cgroup connect4/6, sendmsg4/6, getpeername4/6)",
    needs: "the kernel needs CONFIG_CGROUP_BPF (Debian 12's stock kernel has it)",
    typeProbe: true,
  }),
  progTypeCheck({
    name: "sock_ops",
    type: ProgType.SOCK_OPS,
    what: "the redirect's original-destination record (sockops ACTIVE_ESTABLISHED)",
    needs: "the kernel needs CONFIG_CGROUP_BPF (Debian 12's stock kernel has it)",
    typeProbe: true,
  }),
  progTypeCheck({
    name: "cgroup_sock",
    type: ProgType.CGROUP_SOCK,
    what: "socket tagging for the TC egress second line (cgroup sock_create, socket local storage)",
    needs: "the kernel needs CONFIG_CGROUP_BPF and socket local storage in cgroup sock programs (Linux ≥ 5.11; Debian 12's 6.1 has both)",
    typeProbe: true,
  }),
  progTypeCheck({
    name: "sched_cls",
    type: ProgType.SCHED_CLS,
    what: "TC egress second line (drops managed sockets' packets to destinations not allowed: raw sockets, anything past connect)",
    needs: "the kernel needs CONFIG_NET_CLS_BPF or tcx (Debian 12's stock kernel has cls_bpf)",
    typeProbe: true,
  }),
  progTypeCheck({
    name: "xdp",
    type: ProgType.XDP,
    what: "XDP ingress allowlist for protected local ports (Service inbound.onlyThroughSluice)",
    needs: "the kernel needs XDP (generic mode is in every Debian kernel)",
    typeProbe: true,
  }),
  progTypeCheck({
    name: "tp_btf",
    type: ProgType.TRACING,
    what: "process tracking (tp_btf sched_process_fork/exec/exit)",
    needs: "the kernel needs BTF (CONFIG_DEBUG_INFO_BTF) and BTF-enabled raw tracepoints (Linux ≥ 5.5)",
    typeProbe: false,
  }),
];
