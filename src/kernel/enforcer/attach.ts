/**
 * Puts sluice's programs into the kernel, or adopts the ones a previous `sluice serve` pinned.
 * Pins live under `<pinDir>/maps/<name>` and `<pinDir>/links/<program>` (and the TC/XDP programs,
 * which NetdevGuard attaches per interface, under `<pinDir>/progs/<program>`): a pinned link stays
 * attached while no sluice runs (fail closed), and a restart adopts the same maps, so
 * classification and the policy in force carry over. When the pinned programs differ from this
 * sluice's object, they are upgraded in place (upgrade.ts).
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { readAssetBytes } from "../../assets/index.ts";
import type { Logger } from "../../log/index.ts";
import { CODECS, MAP_NAMES, type OrigDstKey, type SluiceProc, type SluiceRedirect, type SluiceState } from "../layout.ts";
import { BpfObject } from "../libbpf/object.ts";
import { objPin } from "../libbpf/syscalls.ts";
import { BpfMap } from "../maps/bpf-map.ts";
import { ensureBpffs, ensurePinDir } from "../pin/bpffs.ts";
import { detachAll, listPins } from "../pin/pins.ts";
import { NETDEV_PROGRAMS } from "../netdev/guard.ts";
import type { GenerationMaps } from "./generation.ts";
import { upgradePinnedPrograms } from "./upgrade.ts";

export const BPF_OBJECT_ASSET = ".cache/bpf/sluice.bpf.o";
/** Attached to the enforced cgroup (sockops and getpeername4/6 serve redirected sockets). */
export const CGROUP_PROGRAMS = ["sluice_connect4", "sluice_connect6", "sluice_sendmsg4", "sluice_sendmsg6", "sluice_getpeername4", "sluice_getpeername6", "sluice_sockops", "sluice_sock_create"] as const;
export const TRACING_PROGRAMS = ["sluice_on_fork", "sluice_on_exec", "sluice_on_exit"] as const;

export interface AttachedKernel extends GenerationMaps {
  readonly procs: BpfMap<number, SluiceProc>;
  /** (family, client local port) → original destination of a redirected connection (see original-destination.ts). */
  readonly origDst: BpfMap<OrigDstKey, SluiceRedirect>;
  /** Raw fds of the maps read by other parts (ring buffer, counters). */
  readonly eventsFd: number;
  readonly countersFd: number;
  readonly adopted: boolean;
  close(): void;
}

export function attachKernel(options: { pinDir: string; cgroup: string; logger: Logger }): AttachedKernel {
  const { pinDir, cgroup, logger } = options;
  ensureBpffs();
  ensurePinDir(pinDir);
  const mapsDir = join(pinDir, "maps");
  const linksDir = join(pinDir, "links");
  const progsDir = join(pinDir, "progs");
  const expectedLinks = [...CGROUP_PROGRAMS, ...TRACING_PROGRAMS];
  const complete =
    MAP_NAMES.every((m) => existsSync(join(mapsDir, m))) && expectedLinks.every((l) => existsSync(join(linksDir, l))) && NETDEV_PROGRAMS.every((p) => existsSync(join(progsDir, p)));
  if (complete) {
    logger.info("adopting pinned BPF programs and maps", { pinDir });
    try {
      const { upgraded } = upgradePinnedPrograms({ pinDir, objectAsset: BPF_OBJECT_ASSET, cgroupPrograms: CGROUP_PROGRAMS, tracingPrograms: TRACING_PROGRAMS, logger });
      if (upgraded.length > 0) logger.info("pinned BPF programs upgraded in place to this sluice's object", { upgraded });
    } catch (err) {
      logger.warn("this sluice's BPF object does not fit the pinned maps; the pinned programs stay as they are (sluice kernel detach, then restart, to replace them)", { error: err });
    }
    return adopt(mapsDir, true);
  }
  const leftovers = listPins(pinDir);
  if (leftovers.length > 0) {
    logger.warn("incomplete pins from an earlier run; removing them and attaching afresh", { pinDir, pins: leftovers.map((p) => p.name) });
    detachAll(pinDir, { keepDir: true });
  }
  mkdirSync(mapsDir, { recursive: true });
  mkdirSync(linksDir, { recursive: true });
  mkdirSync(progsDir, { recursive: true });
  const object = BpfObject.openMem(readAssetBytes(BPF_OBJECT_ASSET), { name: "sluice" });
  try {
    object.load();
    for (const name of MAP_NAMES) object.map(name).pin(join(mapsDir, name));
    // Maps first, then the programs that read them: state starts as generation 0 with empty
    // slots, where unmanaged traffic is allowed and classified processes are denied.
    for (const name of TRACING_PROGRAMS) object.program(name).attach().pin(join(linksDir, name));
    for (const name of CGROUP_PROGRAMS) object.program(name).attachCgroup(cgroup).pin(join(linksDir, name));
    for (const name of NETDEV_PROGRAMS) objPin(object.program(name).fd, join(progsDir, name));
    logger.info("attached BPF programs", { cgroup, pinDir });
  } finally {
    object.close();
  }
  return adopt(mapsDir, false);
}

function adopt(mapsDir: string, adopted: boolean): AttachedKernel {
  const path = (name: string) => join(mapsDir, name);
  const outer = (name: string) => BpfMap.adopt(path(name), CODECS.outer);
  const state = BpfMap.adopt<number, SluiceState>(path("state"), CODECS.state);
  const procs = BpfMap.adopt<number, SluiceProc>(path("procs"), CODECS.procs);
  const rulesV4Outer = outer("rules_v4_outer");
  const rulesV6Outer = outer("rules_v6_outer");
  const workloadsOuter = outer("workloads_outer");
  const exeOuter = outer("exe_class_outer");
  const ingressV4Outer = outer("ingress4_outer");
  const ingressV6Outer = outer("ingress6_outer");
  const events = BpfMap.adopt(path("events"), rawCodec());
  const counters = BpfMap.adopt(path("counters"), CODECS.counters);
  const origDst = BpfMap.adopt<OrigDstKey, SluiceRedirect>(path("orig_dst"), CODECS.origDst);
  const all = [state, procs, rulesV4Outer, rulesV6Outer, workloadsOuter, exeOuter, ingressV4Outer, ingressV6Outer, events, counters, origDst];
  return {
    state,
    procs,
    origDst,
    rulesV4Outer,
    rulesV6Outer,
    workloadsOuter,
    exeOuter,
    ingressV4Outer,
    ingressV6Outer,
    eventsFd: events.fd,
    countersFd: counters.fd,
    adopted,
    close() {
      for (const m of all) m.close();
    },
  };
}

/** The ring buffer has no key/value: adopt it for its fd only. */
function rawCodec() {
  return { keySize: 0, valueSize: 0, encodeKey: () => new Uint8Array(0), decodeKey: () => 0, encodeValue: () => new Uint8Array(0), decodeValue: () => 0 };
}
