/**
 * Starts a real Workload API server on a temp socket, backed by sluice's real CA (real-ca.ts), and
 * runs clients as other processes/uids.
 */
import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuditInput } from "../../../../src/audit/index.ts";
import { createLogger, silentLogger, type Logger } from "../../../../src/log/index.ts";
import { createWorkloadApiServer, type WorkloadApiServer, type WorkloadApiServerOptions } from "../../../../src/spiffe/workload-api/index.ts";
import { UidCallers } from "./callers.ts";
import { openTestCAs, TRUST_DOMAIN, type CountingSvidSource } from "./real-ca.ts";
import type { TrustDomainCA } from "../../../../src/spiffe/index.ts";

export const NOBODY = 65534;
export const CLIENT_SCRIPT = join(import.meta.dir, "grpcjs-client.ts");

export class RecordingAudit {
  readonly records: AuditInput[] = [];
  append(input: AuditInput): void {
    this.records.push(structuredClone(input));
  }
  ofKind(kind: string): AuditInput[] {
    return this.records.filter((r) => r.kind === kind);
  }
}

export interface Harness {
  dir: string;
  socketPath: string;
  /** sluice's real CA for example.org: `rotateNow()`, `bundle()`, `close()` are the real thing. */
  ca: TrustDomainCA;
  /** The real CA of the federated trust domain partner.test (its bundle is in `ca.bundles`). */
  partner: TrustDomainCA;
  /** What the server was given: `svidSourceFor(ca)`, with its bundle subscriptions counted. */
  svids: CountingSvidSource;
  callers: UidCallers;
  audit: RecordingAudit;
  server: WorkloadApiServer;
  close(): Promise<void>;
}

export async function startHarness(options: Partial<WorkloadApiServerOptions> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-wlapi-"));
  chmodSync(dir, 0o755); // reachable by the unprivileged client
  const socketPath = join(dir, "run", "workload.sock");
  const callers = new UidCallers();
  const audit = new RecordingAudit();
  const logger: Logger = process.env.SLUICE_TEST_LOG ? createLogger({ level: "debug", format: "text" }) : silentLogger;
  const cas = await openTestCAs(logger);
  const server = createWorkloadApiServer({ socketPath, svids: cas.svids, callers, logger, audit, ...options });
  try {
    await server.start();
  } catch (err) {
    await cas.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    socketPath,
    ca: cas.ca,
    partner: cas.partner,
    svids: cas.svids,
    callers,
    audit,
    server,
    async close() {
      await server.stop();
      await cas.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ClientProcess {
  pid: number;
  /** The next JSON line, or throws after `timeoutMs`. */
  next(timeoutMs?: number): Promise<any>;
  /** All remaining lines until exit. */
  rest(timeoutMs?: number): Promise<any[]>;
  kill(): void;
  exited: Promise<number>;
}

/** Runs the @grpc/grpc-js client as `uid` (setpriv) in its own process. */
export function spawnClient(socketPath: string, args: string[], uid = NOBODY): ClientProcess {
  const cmd = ["setpriv", `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", process.execPath, CLIENT_SCRIPT, socketPath, ...args];
  const proc = Bun.spawn(cmd, {
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp", TMPDIR: "/tmp", BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0", NO_COLOR: "1" },
  });
  const lines: any[] = [];
  const waiters: ((v: void) => void)[] = [];
  let ended = false;
  const stdoutDone = (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of proc.stdout) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) lines.push(JSON.parse(line));
        waiters.splice(0).forEach((w) => w());
      }
    }
    ended = true;
    waiters.splice(0).forEach((w) => w());
  })();
  const stderr = new Response(proc.stderr).text();

  const next = async (timeoutMs = 10_000): Promise<any> => {
    const deadline = Date.now() + timeoutMs;
    while (lines.length === 0) {
      if (ended) throw new Error(`client exited without more output; stderr: ${await stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line from the client within ${timeoutMs} ms`);
      await Promise.race([new Promise<void>((r) => waiters.push(r)), Bun.sleep(left)]);
    }
    return lines.shift();
  };
  return {
    pid: proc.pid,
    next,
    async rest(timeoutMs = 10_000) {
      const out: any[] = [];
      await Promise.race([stdoutDone, Bun.sleep(timeoutMs)]);
      while (lines.length) out.push(lines.shift());
      return out;
    },
    kill: () => proc.kill(),
    exited: proc.exited,
  };
}

export const identity = (name: string, x509TTLSeconds = 3600, jwtTTLSeconds = 300) => ({ spiffeId: `spiffe://${TRUST_DOMAIN}/${name}`, x509TTLSeconds, jwtTTLSeconds });

/** A socket file nothing listens on, as a crashed server leaves behind (the binder is SIGKILLed). */
export async function makeStaleSocket(path: string): Promise<string> {
  const child = Bun.spawn([process.execPath, "-e", `require("net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`]);
  await child.exited;
  if (!statSync(path).isSocket()) throw new Error(`no stale socket at ${path}`);
  return path;
}

/** Polls `cond` every 20 ms; throws after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(20);
  }
}
