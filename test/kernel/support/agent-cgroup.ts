/**
 * Shared by the kernel enforcement tests: a test cgroup, a managed "agent" (a copy of the python
 * interpreter selected by path), its policy, and python one-liners that print "ok" or the errno
 * name of a connect/sendto, run inside the cgroup.
 */
import { existsSync, realpathSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Why the kernel tests cannot run here ("" when they can); printed by the caller. */
export function kernelSkipReason(): string {
  if (process.getuid?.() !== 0) return "needs root (BPF, cgroups)";
  if (!existsSync("/sys/kernel/btf/vmlinux")) return "the kernel has no BTF";
  if (!Bun.which("python3")) return "python3 is not installed";
  return "";
}

/** The interpreter itself (python3 on PATH may be a shim script, e.g. pyenv's). */
export function realPython(): string {
  return realpathSync(Bun.spawnSync(["python3", "-c", "import sys; print(sys.executable)"]).stdout.toString().trim());
}

export function agentPolicy(agent: string, allowedPort: number, enforcement: "enforce" | "audit" = "enforce"): string {
  return [
    "apiVersion: sluice/v1alpha1",
    "kind: WorkloadIdentity",
    "metadata: {name: agent}",
    "spec:",
    "  workloadID: agent",
    "  selectors:",
    `    - process:binary:path: ${agent}`,
    `  enforcement: ${enforcement}`,
    "  egress:",
    "    - cidr: 127.0.0.1/32",
    `      ports: [${allowedPort}]`,
    "",
  ].join("\n");
}

export const connectScript = (host: string, port: number, family = "AF_INET") =>
  `import socket, errno\ns = socket.socket(socket.${family}, socket.SOCK_STREAM)\ntry:\n    s.connect(("${host}", ${port})); print("ok")\nexcept OSError as e:\n    print(errno.errorcode.get(e.errno, e.errno))`;

export const udpSendScript = (port: number) =>
  `import socket, errno\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ntry:\n    s.sendto(b"x", ("127.0.0.1", ${port})); print("ok")\nexcept OSError as e:\n    print(errno.errorcode.get(e.errno, e.errno))`;

/** Runs `exe -c code` as a process of `cgroup`; returns its last output line. */
export async function runInCgroup(cgroup: string, exe: string, code: string): Promise<string> {
  const proc = Bun.spawn(["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, exe, "-c", code], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return (out.trim() || err.trim()).split("\n").at(-1)!;
}

/** Kills whatever a test left in the cgroup, then removes it (retrying while the kernel reaps). */
export async function removeCgroup(cgroup: string): Promise<void> {
  if (!existsSync(cgroup)) return;
  if (existsSync(join(cgroup, "cgroup.kill"))) writeFileSync(join(cgroup, "cgroup.kill"), "1");
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(cgroup);
      return;
    } catch {
      await Bun.sleep(100);
    }
  }
  console.warn(`could not remove test cgroup ${cgroup}`);
}
