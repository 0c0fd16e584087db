/**
 * What is pinned under a directory, adopting pins, and removing them. Unlinking a pinned link
 * detaches it only once the last reference goes — asynchronously (after an RCU grace period and
 * a workqueue run) and never while a process still holds an fd — so detachAll detaches each link
 * explicitly first (BPF_LINK_DETACH): when it returns, enforcement is off. Unlinking a map frees
 * it once no program or fd uses it.
 */
import { closeSync, readdirSync, rmdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { KernelError } from "../errors.ts";
import { bpfFdInfo, type BpfObjectKind } from "../libbpf/fdinfo.ts";
import { linkDetach, objGet } from "../libbpf/syscalls.ts";
import { detachNetdevFilters } from "../netdev/guard.ts";
import { interfaceIndex } from "../netdev/interfaces.ts";

export interface PinEntry {
  /** Path relative to the listed directory (`links/connect4`). */
  name: string;
  path: string;
  kind: BpfObjectKind;
  /** Kernel id of the map/program/link. */
  id: number | undefined;
  /** map_type / prog_type / link_type. */
  type: number | undefined;
}

export interface AdoptedPin {
  /** A new fd; the caller owns it (close it with fs.closeSync). */
  fd: number;
  kind: BpfObjectKind;
  id: number | undefined;
  type: number | undefined;
}

/** bpf_obj_get + what it is. */
export function adoptPin(path: string): AdoptedPin {
  const fd = objGet(path);
  const info = bpfFdInfo(fd);
  return { fd, kind: info.kind, id: info.id, type: info.type };
}

/** Every pin under `dir` (recursively), sorted by name; [] when the directory does not exist. */
export function listPins(dir: string): PinEntry[] {
  const out: PinEntry[] = [];
  const walk = (rel: string) => {
    let entries;
    try {
      entries = readdirSync(join(dir, rel), { withFileTypes: true });
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT" && rel === "") return;
      throw err;
    }
    for (const e of entries) {
      const name = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(name);
      else {
        const path = join(dir, name);
        const pin = adoptPin(path);
        closeSync(pin.fd);
        out.push({ name, path, kind: pin.kind, id: pin.id, type: pin.type });
      }
    }
  };
  walk("");
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Removes one pin (false when it did not exist). */
export function unpin(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return false;
    throw new KernelError("ERR_BPF_PIN", "unlink", `cannot unpin ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

const ORDER: Record<BpfObjectKind, number> = { link: 0, prog: 1, map: 2, unknown: 3 };

/** Detaches the link pinned at `path` now; false when the kernel cannot (it then goes when unpinned). */
export function detachPinnedLink(path: string): boolean {
  const fd = objGet(path);
  try {
    return linkDetach(fd, path);
  } finally {
    closeSync(fd);
  }
}

/**
 * `sluice kernel detach`: removes everything under `dir` — sluice's cls_bpf filters (marked by
 * `net/clsact-*` pins), then links, each detached on the spot
 * (enforcement stops as each goes), then programs, then maps — removes the emptied
 * subdirectories and, unless `keepDir`, the directory itself. Returns what was removed.
 */
export function detachAll(dir: string, options: { keepDir?: boolean } = {}): PinEntry[] {
  detachNetdevFilters(dir, interfaceIndex); // cls_bpf filters are not links: removed by their markers
  const pins = listPins(dir).sort((a, b) => ORDER[a.kind] - ORDER[b.kind] || a.name.localeCompare(b.name));
  for (const p of pins) {
    if (p.kind === "link") detachPinnedLink(p.path);
    unpin(p.path);
  }
  removeEmptyDirs(dir, !options.keepDir);
  return pins;
}

function removeEmptyDirs(dir: string, removeSelf: boolean): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return;
    throw err;
  }
  for (const e of entries) if (e.isDirectory()) removeEmptyDirs(join(dir, e.name), true);
  if (removeSelf) rmdirSync(dir);
}
