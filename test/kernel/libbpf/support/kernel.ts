/**
 * Shared setup of the kernel tests: whether this machine can run them (root, bpf(), cgroup v2),
 * compiling the C fixtures, a throwaway cgroup, and the connect client run inside it.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cgroupV2Root } from "../../../../src/kernel/cgroup.ts";

export const REPO = resolve(import.meta.dir, "../../../..");
export const FIXTURES = join(import.meta.dir, "../fixtures");

/** Why the kernel tests cannot run here, or undefined. Printed by the suites that skip. */
export function kernelSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "kernel tests need root (bpf(), cgroup and bpffs writes)";
  // sysfs creates /sys/fs/bpf only on kernels built with the bpf() syscall (CONFIG_BPF_SYSCALL).
  if (!existsSync("/sys/fs/bpf")) return "this kernel has no bpf() syscall (no /sys/fs/bpf)";
  try {
    cgroupV2Root();
  } catch {
    return "no cgroup v2 hierarchy is mounted";
  }
  return undefined;
}

/** `describe.skipIf(skip)` plus the printed reason. */
export function skipUnlessKernel(suite: string): boolean {
  const reason = kernelSkipReason();
  if (reason) console.warn(`${suite}: SKIPPED: ${reason}`);
  return reason !== undefined;
}

function multiarchInclude(): string {
  const triple = process.arch === "x64" ? "x86_64-linux-gnu" : process.arch === "arm64" ? "aarch64-linux-gnu" : `${process.arch}-linux-gnu`;
  return `/usr/include/${triple}`;
}

async function run(cmd: string[]): Promise<void> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (${code}):\n${out}${err}`);
}

/** clang -target bpf -O2 -g: the fixture `name`.bpf.c → bytes of the object. */
export async function compileBpf(name: string, outDir: string): Promise<Uint8Array> {
  const out = join(outDir, `${name}.bpf.o`);
  await run(["clang", "-target", "bpf", "-O2", "-g", "-Wall", `-I${multiarchInclude()}`, "-c", join(FIXTURES, `${name}.bpf.c`), "-o", out]);
  return new Uint8Array(readFileSync(out));
}

/** The connect client (fixtures/connect-client.c), built with the host C compiler. */
export async function buildClient(outDir: string): Promise<string> {
  const out = join(outDir, "connect-client");
  await run(["clang", "-O2", "-Wall", "-o", out, join(FIXTURES, "connect-client.c")]);
  return out;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

/** A fresh child of the cgroup v2 root; `remove()` waits for it to empty. */
export class TestCgroup {
  private constructor(readonly path: string) {}

  static create(label: string): TestCgroup {
    const path = join(cgroupV2Root(), `sluice-test-${label}-${process.pid}`);
    mkdirSync(path);
    return new TestCgroup(path);
  }

  async remove(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      try {
        for (const d of readdirSync(this.path, { withFileTypes: true })) if (d.isDirectory()) rmdirSync(join(this.path, d.name));
        rmdirSync(this.path);
        return;
      } catch (err) {
        if ((err as { code?: string }).code === "ENOENT") return;
        await Bun.sleep(20); // EBUSY until its last process is reaped
      }
    }
    rmdirSync(this.path);
  }
}

/** Outcome counts of `count` TCP connects to host:port, e.g. `{EPERM: 3}` or `{ok: 1}`. */
export async function connectFrom(client: string, opts: { cgroup?: string; host?: string; port: number; count?: number }): Promise<Record<string, number>> {
  const args = [...(opts.cgroup ? ["--cgroup", opts.cgroup] : []), opts.host ?? "127.0.0.1", String(opts.port), String(opts.count ?? 1)];
  const proc = Bun.spawn([client, ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`connect-client ${args.join(" ")} failed (${code}): ${err}`);
  const result: Record<string, number> = {};
  for (const line of out.trim().split("\n").filter(Boolean)) {
    const [name, n] = line.split(" ");
    if (name !== undefined) result[name] = Number(n);
  }
  return result;
}

/** A TCP listener on 127.0.0.1 (an ephemeral port) that accepts and closes. */
export function listenLoopback(): { port: number; stop(): void } {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (s) => void s.end(), data() {} } });
  return { port: server.port, stop: () => server.stop(true) };
}
