import type { AuditProblem } from "./types.ts";

const MAX_PROBLEMS = 1000;

/** Collects verification findings, capped so a wiped mirror cannot produce millions of entries. */
export class Problems {
  readonly list: AuditProblem[] = [];
  omitted = 0;

  add(seq: number, where: AuditProblem["where"], reason: string): void {
    if (this.list.length < MAX_PROBLEMS) this.list.push({ seq, where, reason });
    else this.omitted++;
  }

  sorted(): AuditProblem[] {
    return [...this.list].sort((a, b) => a.seq - b.seq);
  }
}

/** "record 7" or "records 7–9". */
export function seqRange(from: number, to: number): string {
  return from === to ? `record ${from} is` : `records ${from}–${to} are`;
}
