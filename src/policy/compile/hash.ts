/** Content hash of a policy set: identical input → identical hash → nothing to do on reload. */
import { createHash } from "node:crypto";
import type { PolicySourceFile } from "../types.ts";

export function hashPolicySources(files: readonly PolicySourceFile[], trustDomain: string): string {
  const h = createHash("sha256");
  h.update(`sluice-policy-v1\0${trustDomain}\0`);
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const f of sorted) h.update(`${f.path}\0${Buffer.byteLength(f.text)}\0`).update(f.text).update("\0");
  return h.digest("hex");
}
