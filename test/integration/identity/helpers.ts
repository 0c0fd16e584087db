/**
 * Real processes for attestation tests: executables copied into a temp dir, started with
 * Bun.spawn, and real cgroup v2 directories under the unified mount (found in mountinfo). Every
 * sandbox kills its processes and removes its cgroups and files in cleanup().
 */
import type { Subprocess } from "bun";
import { appendFileSync, chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findCgroupV2Mount } from "../../../src/identity/index.ts";

export const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("identity tests: not root, so the tests that need other uids (setpriv), cgroups or pid namespaces are skipped");
/** The real `sleep` executable (resolved: /bin is a link on merged-/usr systems). */
export const SLEEP = realpathSync(Bun.which("sleep") ?? "/bin/sleep");
export const SH = realpathSync("/bin/sh");

/** Poll an observable condition (never a fixed sleep). */
export async function waitFor<T>(check: () => T | undefined | false, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(2);
  }
}

export function exeOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}

export function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

export function openFdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

export interface TestCgroup {
  /** Path as /proc/PID/cgroup shows it. */
  path: string;
  dir: string;
  add(pid: number): void;
}

export class Sandbox {
  readonly dir: string;
  readonly #procs: Subprocess[] = [];
  readonly #cgroups: string[] = [];

  constructor() {
    this.dir = realpathSync(mkdtempSync(join(tmpdir(), "sluice-identity-")));
    chmodSync(this.dir, 0o755); // other uids (setpriv) must reach the copies
  }

  /** Copy an executable into the sandbox; `extraByte` appends one byte (another sha256, still runs). */
  copy(src: string, name: string, options: { extraByte?: boolean } = {}): string {
    const dest = join(this.dir, name);
    copyFileSync(src, dest);
    if (options.extraByte) appendFileSync(dest, Buffer.from([0x5a]));
    chmodSync(dest, 0o755);
    return dest;
  }

  script(name: string, body: string): string {
    const dest = join(this.dir, name);
    writeFileSync(dest, body, { mode: 0o755 });
    return dest;
  }

  /** Start a process and wait until it runs `exe` (exec done: setpriv and shells exec late). */
  async spawn(argv: string[], options: { exe?: string; stdin?: "pipe" } = {}): Promise<Subprocess<"ignore", "ignore", "ignore">> {
    return (await this.#start(argv, options.exe, options.stdin ?? "ignore")) as Subprocess<"ignore", "ignore", "ignore">;
  }

  /** Like spawn, with a pipe on stdin to drive the process. */
  async spawnPiped(argv: string[], options: { exe?: string } = {}): Promise<Subprocess<"pipe", "ignore", "ignore">> {
    return (await this.#start(argv, options.exe, "pipe")) as Subprocess<"pipe", "ignore", "ignore">;
  }

  async #start(argv: string[], exe: string | undefined, stdin: "pipe" | "ignore"): Promise<Subprocess> {
    const proc = Bun.spawn(argv, { stdin, stdout: "ignore", stderr: "ignore" });
    this.#procs.push(proc);
    const want = exe ?? argv[0];
    // exec is done when the new executable shows AND argv is set up (the kernel fills it last).
    await waitFor(() => exeOf(proc.pid) === want && cmdlineOf(proc.pid) !== "", `pid ${proc.pid} to exec ${want}`);
    return proc;
  }

  /** A fresh cgroup v2 directory (`rel` may be nested: "a/b.service"). */
  cgroup(rel: string): TestCgroup {
    const mount = findCgroupV2Mount();
    if (!mount) throw new Error("no cgroup v2 mount");
    const base = `sluice-test-${process.pid}-${this.#cgroups.length}`;
    const parts = [base, ...rel.split("/")];
    let dir = mount.mountPoint;
    for (const p of parts) {
      dir = join(dir, p);
      mkdirSync(dir);
      this.#cgroups.push(dir);
    }
    const path = (mount.root === "/" ? "" : mount.root) + "/" + parts.join("/");
    return { path, dir, add: (pid) => writeFileSync(join(dir, "cgroup.procs"), String(pid)) };
  }

  async cleanup(): Promise<void> {
    for (const p of this.#procs) p.kill("SIGKILL");
    await Promise.all(this.#procs.map((p) => p.exited));
    // Deepest first; a cgroup can be removed once its processes are gone.
    for (const dir of [...this.#cgroups].reverse()) {
      try {
        rmdirSync(dir);
      } catch {
        /* already gone */
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
