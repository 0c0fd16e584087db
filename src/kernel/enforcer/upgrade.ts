/**
 * Seamless upgrade of adopted pins: a restarted sluice whose embedded BPF object differs from the
 * programs pinned by the one before it loads its object against the pinned maps (reused by fd,
 * so classification, policy and counters carry over) and swaps each changed program in place:
 *
 *   cgroup links, tcx and XDP links  BPF_LINK_UPDATE: same link, new program, no gap
 *   tracing links (tp_btf)           no update op: the new link is attached first, pinned in the
 *                                    old one's place, then the old one is detached (a moment with
 *                                    both: fork/exec handling is idempotent)
 *   progs/ pins (TC, XDP programs)   re-pinned, so interfaces found later get the new ones; a
 *                                    cls_bpf filter is replaced by NetdevGuard's first reconcile
 *
 * Programs compare by tag (the kernel's hash of the instructions, map references excluded): an
 * unchanged object changes nothing. If the new object does not load against the pinned maps (a
 * map's layout changed), nothing is touched and the caller keeps the old programs, saying so.
 */
import { closeSync, readdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { readAssetBytes } from "../../assets/index.ts";
import type { Logger } from "../../log/index.ts";
import { MAP_NAMES } from "../layout.ts";
import { bpfFdInfo } from "../libbpf/fdinfo.ts";
import { BpfObject } from "../libbpf/object.ts";
import { linkDetach, linkUpdate, objGet, objPin } from "../libbpf/syscalls.ts";
import { NETDEV_PROGRAMS, TC_PROGRAM, XDP_PROGRAM } from "../netdev/guard.ts";

export interface UpgradeResult {
  /** Programs whose pinned attachments now run the new code (`links/…`, `net/…`, `progs/…`). */
  readonly upgraded: readonly string[];
}

function tagOf(path: string): string | undefined {
  const fd = objGet(path);
  try {
    return bpfFdInfo(fd).fields.prog_tag;
  } finally {
    closeSync(fd);
  }
}

function fdTag(fd: number): string | undefined {
  return bpfFdInfo(fd).fields.prog_tag;
}

export function upgradePinnedPrograms(options: {
  pinDir: string;
  objectAsset: string;
  cgroupPrograms: readonly string[];
  tracingPrograms: readonly string[];
  logger: Logger;
}): UpgradeResult {
  const { pinDir, logger } = options;
  const upgraded: string[] = [];
  const held: number[] = [];
  const object = BpfObject.openMem(readAssetBytes(options.objectAsset), { name: "sluice" });
  try {
    for (const name of MAP_NAMES) {
      const fd = objGet(join(pinDir, "maps", name));
      held.push(fd);
      object.map(name).reuseFd(fd);
    }
    object.load();

    for (const name of options.cgroupPrograms) {
      const path = join(pinDir, "links", name);
      const prog = object.program(name).fd;
      if (tagOf(path) === fdTag(prog)) continue;
      const fd = objGet(path);
      try {
        linkUpdate(fd, prog, path);
      } finally {
        closeSync(fd);
      }
      upgraded.push(`links/${name}`);
    }

    for (const name of options.tracingPrograms) {
      const path = join(pinDir, "links", name);
      if (tagOf(path) === fdTag(object.program(name).fd)) continue;
      const old = objGet(path);
      try {
        const fresh = object.program(name).attach();
        unlinkSync(path);
        fresh.pin(path);
        fresh.destroy(); // pinned: stays attached
        linkDetach(old, path);
      } finally {
        closeSync(old);
      }
      upgraded.push(`links/${name}`);
    }

    for (const name of NETDEV_PROGRAMS) {
      const path = join(pinDir, "progs", name);
      const prog = object.program(name).fd;
      if (tagOf(path) === fdTag(prog)) continue;
      unlinkSync(path);
      objPin(prog, path);
      upgraded.push(`progs/${name}`);
      const prefix = name === TC_PROGRAM ? "tc-" : name === XDP_PROGRAM ? "xdp-" : undefined;
      let entries: string[] = [];
      try {
        entries = readdirSync(join(pinDir, "net"));
      } catch {
        /* no interface attachments yet */
      }
      for (const entry of entries) {
        if (!prefix || !entry.startsWith(prefix)) continue;
        const linkPath = join(pinDir, "net", entry);
        const fd = objGet(linkPath);
        try {
          linkUpdate(fd, prog, linkPath);
          upgraded.push(`net/${entry}`);
        } catch (err) {
          logger.warn("could not update an interface's program in place; the next reconcile re-attaches it", { pin: entry, error: err });
        } finally {
          closeSync(fd);
        }
      }
    }
  } finally {
    object.close();
    for (const fd of held) closeSync(fd);
  }
  return { upgraded };
}
