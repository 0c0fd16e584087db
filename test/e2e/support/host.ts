/** What every e2e file needs of this host: whether it can run, a world-readable work dir, a test CA. */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kernelSkipReason } from "../../kernel/support/agent-cgroup.ts";
import { createTestCa, type TestCa } from "../../support/test-ca.ts";
import type { Cleanups } from "./cleanups.ts";

/** Why this e2e file cannot run here ("" when it can). */
export function e2eSkipReason(needs: { chromium?: boolean; tools?: readonly string[] } = {}): string {
  const kernel = kernelSkipReason();
  if (kernel) return kernel;
  if (needs.chromium && !Bun.which("chromium")) return "chromium is not installed (scripts/setup installs it)";
  for (const tool of ["setpriv", ...(needs.tools ?? [])]) if (!Bun.which(tool)) return `${tool} is not installed`;
  return "";
}

/** A temp dir (mode 0755: workloads under other uids read their binaries below it), removed at cleanup. */
export function workDir(prefix: string, cleanups: Cleanups): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  chmodSync(dir, 0o755);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A test CA whose certificate file any uid can read (workloads trust it directly in some tests). */
export function readableTestCa(name: string, cleanups: Cleanups): TestCa {
  const ca = createTestCa(name);
  cleanups.push(() => ca.cleanup());
  chmodSync(ca.dir, 0o755);
  chmodSync(ca.certFile, 0o644);
  return ca;
}
