/**
 * Managed workloads for the e2e tests: a test cgroup that sluice's kernel programs attach to, and
 * processes started inside it under a chosen uid (moved into the cgroup before exec, so they never
 * run outside it). Each workload runs its own copy of a binary: the copy's path is what the policy
 * selects on (path-only selectors: path+uid is classified by userspace after exec).
 */
import { chmodSync, copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { cgroupV2Root } from "../../../src/kernel/index.ts";
import { removeCgroup } from "../../kernel/support/agent-cgroup.ts";

export type Workload = Subprocess<"pipe", "pipe", "pipe">;

export interface TestCgroup {
  readonly path: string;
  /** Runs `argv` as `uid` inside the cgroup with only PATH + `env`; stdin, stdout and stderr are pipes. */
  spawn(uid: number, argv: readonly string[], env: Record<string, string>, cwd: string): Workload;
  /** Like spawn, to completion: stdout, stderr and the exit code. */
  run(uid: number, argv: readonly string[], env: Record<string, string>, cwd: string): Promise<{ stdout: string; stderr: string; code: number }>;
  /** Kills what is left in it and removes it. */
  remove(): Promise<void>;
}

export function createTestCgroup(name: string): TestCgroup {
  const path = join(cgroupV2Root(), `${name}-${process.pid}`);
  mkdirSync(path);
  const spawn = (uid: number, argv: readonly string[], env: Record<string, string>, cwd: string): Workload => {
    const script = 'echo $$ > "$0/cgroup.procs" && uid="$1" && shift && exec setpriv --reuid "$uid" --regid "$uid" --clear-groups -- "$@"';
    return Bun.spawn(["/bin/sh", "-c", script, path, String(uid), ...argv], { env: { PATH: "/usr/bin:/bin", ...env }, stdin: "pipe", stdout: "pipe", stderr: "pipe", cwd });
  };
  return {
    path,
    spawn,
    async run(uid, argv, env, cwd) {
      const p = spawn(uid, argv, env, cwd);
      p.stdin.end();
      const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      return { stdout, stderr, code };
    },
    remove: () => removeCgroup(path),
  };
}

/** A private copy of `from` (default: the bun running the tests) at `dir/name`, mode 0755. */
export function copyBinary(dir: string, name: string, from: string = process.execPath): string {
  const to = join(dir, name);
  copyFileSync(from, to);
  chmodSync(to, 0o755);
  return to;
}
