/**
 * Which workload the KERNEL has a process as (what enforcement actually uses), read from the
 * pinned `procs` map, with the SPIFFE ID from the store's id registry.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { SluiceConfig } from "../config/index.ts";
import { SluiceError } from "../errors/index.ts";
import { BpfMap, CODECS, PROC_FLAGS, type SluiceProc } from "../kernel/index.ts";
import { storedWorkloadIds } from "../kernel/workload-ids.ts";
import { openStore } from "../store/index.ts";

export interface LiveClassification {
  readonly pid: number;
  /** undefined = unmanaged (no entry, or workload 0). */
  readonly spiffeId: string | undefined;
  readonly workloadId: number;
  /** How the kernel got it: refined (attested by userspace), exe (by executable inode), inherited, or none. */
  readonly how: "refined" | "exe" | "inherited" | "none";
}

export async function liveClassification(config: SluiceConfig, pid: number): Promise<LiveClassification> {
  const procsPin = join(config.kernel.pinDir, "maps", "procs");
  if (!existsSync(procsPin)) {
    throw new SluiceError("ERR_KERNEL_NOT_ATTACHED", `no kernel enforcement is attached (no ${procsPin}); start sluice serve with kernel.enabled, or use --workload`);
  }
  if (!existsSync(`/proc/${pid}`)) throw new SluiceError("ERR_PROCESS_GONE", `process ${pid} does not exist`);
  const tgid = Number(/^Tgid:\s*(\d+)$/m.exec(await Bun.file(`/proc/${pid}/status`).text())?.[1] ?? pid);
  const procs = BpfMap.adopt<number, SluiceProc>(procsPin, CODECS.procs);
  let entry: SluiceProc | undefined;
  try {
    entry = procs.lookup(tgid);
  } finally {
    procs.close();
  }
  if (!entry || entry.workload === 0) return { pid, spiffeId: undefined, workloadId: 0, how: "none" };
  const store = await openStore({ dataDir: config.dataDir, readOnly: true });
  let spiffeId: string | undefined;
  try {
    spiffeId = storedWorkloadIds(store).spiffeIdOf(entry.workload);
  } finally {
    await store.close();
  }
  const how = entry.flags & PROC_FLAGS.REFINED ? "refined" : entry.flags & PROC_FLAGS.EXE ? "exe" : "inherited";
  return { pid, spiffeId: spiffeId ?? `workload#${entry.workload}`, workloadId: entry.workload, how };
}
