/**
 * Runs `sluice serve` as a real child process (from source, or the compiled binary) with its own
 * temp data and policy dirs on an ephemeral loopback port, and reads its JSON log lines.
 */
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

export const REPO = resolve(import.meta.dir, "../..");

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export interface ServeProcess {
  readonly dir: string;
  readonly dataDir: string;
  readonly policyDir: string;
  readonly url: string;
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  readonly logs: LogLine[];
  /** Resolves with the first log line (already seen or future) that matches. */
  waitForLog(match: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  stop(signal?: NodeJS.Signals): Promise<number>;
  cleanup(): void;
}

export function makeTempDirs(prefix = "sluice-test-"): { dir: string; dataDir: string; policyDir: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const dataDir = join(dir, "data");
  const policyDir = join(dir, "policies");
  mkdirSync(policyDir);
  return { dir, dataDir, policyDir };
}

export function sluiceCommand(binary?: string): string[] {
  return binary ? [binary] : [process.execPath, join(REPO, "src/main.ts")];
}

export async function startServe(opts: { binary?: string; env?: Record<string, string>; dirs?: ReturnType<typeof makeTempDirs>; args?: string[] } = {}): Promise<ServeProcess> {
  const dirs = opts.dirs ?? makeTempDirs();
  const proc = Bun.spawn([...sluiceCommand(opts.binary), "serve", ...(opts.args ?? [])], {
    cwd: dirs.dir,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dirs.dir,
      TMPDIR: process.env.TMPDIR ?? "/tmp",
      SLUICE_DATA_DIR: dirs.dataDir,
      SLUICE_POLICY_DIR: dirs.policyDir,
      SLUICE_LISTEN: "127.0.0.1:0",
      SLUICE_WORKLOAD_SOCKET: join(dirs.dir, "run", "workload.sock"),
      SLUICE_CONFIG: "none",
      SLUICE_LOG_LEVEL: "debug",
      SLUICE_METRICS_LISTEN: "127.0.0.1:0",
      SLUICE_PROXY_LISTEN: "127.0.0.1:0",
      // Never attach to the host's root cgroup from a test: kernel tests enable it with their own cgroup and pin dir.
      SLUICE_KERNEL_ENABLED: "false",
      ...opts.env,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const logs: LogLine[] = [];
  const waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let rawStderr = "";
  void (async () => {
    let buffer = "";
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) {
      buffer += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        rawStderr += line + "\n";
        let parsed: LogLine;
        try {
          parsed = JSON.parse(line) as LogLine;
        } catch {
          continue;
        }
        logs.push(parsed);
        for (const w of [...waiters]) {
          if (w.match(parsed)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(parsed);
          }
        }
      }
    }
  })();

  const waitForLog = (match: (l: LogLine) => boolean, timeoutMs = 10_000) => {
    const seen = logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for a log line; stderr so far:\n${rawStderr}`)), timeoutMs);
      waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolvePromise(l)) });
      void proc.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`sluice serve exited with ${code} before the expected log line; stderr:\n${rawStderr}`));
      });
    });
  };

  const started = await waitForLog((l) => l.msg === "sluice serving", 20_000);
  return {
    ...dirs,
    url: String(started.url),
    proc,
    logs,
    waitForLog,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      proc.kill(signal);
      return await proc.exited;
    },
    cleanup() {
      if (proc.exitCode === null) proc.kill("SIGKILL");
      rmSync(dirs.dir, { recursive: true, force: true });
    },
  };
}
