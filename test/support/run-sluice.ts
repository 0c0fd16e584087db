import { sluiceCommand } from "./serve-process.ts";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one sluice command to completion (from source, or a compiled binary) with a clean env. */
export async function runSluice(args: string[], opts: { binary?: string; cwd?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
  const proc = Bun.spawn([...sluiceCommand(opts.binary), ...args], {
    cwd: opts.cwd ?? process.cwd(),
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TMPDIR: process.env.TMPDIR ?? "/tmp", SLUICE_CONFIG: "none", SLUICE_KERNEL_ENABLED: "false", ...opts.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}
