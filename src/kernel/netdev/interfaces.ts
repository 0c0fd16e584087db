/**
 * Network interfaces of the calling thread's network namespace (if_nameindex: netlink, so a thread
 * that entered another namespace with setns sees that namespace's interfaces, unlike /sys/class/net).
 */
import { CString, read, type Pointer } from "bun:ffi";
import { cString, libc } from "../libbpf/libc.ts";

export interface NetInterface {
  readonly index: number;
  readonly name: string;
}

/** Every interface, sorted by index ([] if the list cannot be read). */
export function listInterfaces(): NetInterface[] {
  const head = libc().if_nameindex() as Pointer | null;
  if (head === null) return [];
  const out: NetInterface[] = [];
  try {
    // struct if_nameindex { unsigned int if_index; char *if_name; } — 16 bytes on LP64, ends with {0, NULL}.
    for (let off = 0; off < 16 * 65_536; off += 16) {
      const index = read.u32(head, off);
      const namePtr = read.ptr(head, off + 8);
      if (index === 0 || !namePtr) break;
      out.push({ index, name: new CString(namePtr as Pointer).toString() });
    }
  } finally {
    libc().if_freenameindex(head);
  }
  return out.sort((a, b) => a.index - b.index);
}

/** The loopback device: ifindex 1 in every namespace (registered first), named lo. */
export function isLoopback(i: NetInterface): boolean {
  return i.index === 1 || i.name === "lo";
}

/** ifindex of `name` in the calling thread's namespace; undefined if there is none. */
export function interfaceIndex(name: string): number | undefined {
  const n = libc().if_nametoindex(cString(name));
  return n === 0 ? undefined : n;
}

/**
 * Which interfaces sluice guards: `names` when the operator lists them (those present), else every
 * non-loopback interface. Loopback is never guarded: it is how traffic through sluice's proxy flows.
 */
export function guardedInterfaces(names?: readonly string[]): NetInterface[] {
  const all = listInterfaces().filter((i) => !isLoopback(i));
  if (names === undefined) return all;
  const wanted = new Set(names);
  return all.filter((i) => wanted.has(i.name));
}
