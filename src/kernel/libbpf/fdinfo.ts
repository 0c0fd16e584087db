/**
 * What kind of BPF object an fd holds, read from /proc/self/fdinfo (map_type/prog_type/link_type
 * and their ids): works for any fd, including ones obtained from a pin with bpf_obj_get.
 */
import { readFileSync } from "node:fs";

export type BpfObjectKind = "map" | "prog" | "link" | "unknown";

export interface BpfFdInfo {
  kind: BpfObjectKind;
  /** Kernel id of the map/program/link. */
  id: number | undefined;
  /** map_type / prog_type / link_type number. */
  type: number | undefined;
  fields: Readonly<Record<string, string>>;
}

export function bpfFdInfo(fd: number): BpfFdInfo {
  const fields: Record<string, string> = {};
  for (const line of readFileSync(`/proc/self/fdinfo/${fd}`, "utf8").split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) fields[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  const num = (k: string) => (fields[k] === undefined ? undefined : Number(fields[k]));
  if ("link_type" in fields) return { kind: "link", id: num("link_id"), type: num("link_type"), fields };
  if ("map_type" in fields) return { kind: "map", id: num("map_id"), type: num("map_type"), fields };
  if ("prog_type" in fields) return { kind: "prog", id: num("prog_id"), type: num("prog_type"), fields };
  return { kind: "unknown", id: undefined, type: undefined, fields };
}
