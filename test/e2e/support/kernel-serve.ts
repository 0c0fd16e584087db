/**
 * `sluice serve` as a child process with kernel enforcement on a test cgroup (its own bpffs pin
 * dir), the AS on 127.0.0.1 at a port known before the policy is written (workloads need egress to
 * it), the proxy's redirect listener on a port free on both loopbacks, metrics on, and optionally
 * the explicit CONNECT proxy. Also: the CLI against its data dir, its host CA, its audit log.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDirs, startServe, type ServeProcess } from "../../support/serve-process.ts";
import { runSluice, type RunResult } from "../../support/run-sluice.ts";
import type { AuditRecord } from "../../../src/audit/index.ts";
import type { Cleanups } from "./cleanups.ts";
import { freeDualPort, freePort } from "./ports.ts";

export interface KernelServeOptions {
  /** Names the pin dir and temp dirs (unique per test file). */
  readonly name: string;
  readonly trustDomain: string;
  /** The cgroup the kernel programs attach to. */
  readonly cgroup: string;
  /** Policy YAML, given the AS port (for workloads' egress to sluice's AS). */
  readonly policy: (ports: { as: number }) => string;
  /** PEM file trusted for upstream TLS (proxy and broker). */
  readonly upstreamCaFile?: string;
  /** Start the explicit CONNECT proxy on 127.0.0.1 (ephemeral port). */
  readonly explicitProxy?: boolean;
  /** Extra top-level sluice.yaml lines (e.g. `broker:\n  refreshAhead: 5s`). */
  readonly extraConfig?: string;
}

export interface KernelServe {
  readonly serve: ServeProcess;
  readonly dataDir: string;
  readonly configFile: string;
  readonly asPort: number;
  /** GET /metrics URL from serve's "sluice serving" line. */
  readonly metricsUrl: string;
  /** host:port of the explicit proxy, when started. */
  readonly explicitProxy?: string;
  /** Runs a sluice CLI command against serve's data dir. */
  sluice(args: string[]): Promise<RunResult>;
  /** The host CA certificate the proxy mints intercept leaves from (`sluice trust print`). */
  hostCaPem(): Promise<string>;
  /** The whole audit log (`sluice audit tail --json`). */
  audit(): Promise<AuditRecord[]>;
  /** Audit records until `done(records)` holds (serve commits in batches), bounded. */
  waitForAudit(done: (records: AuditRecord[]) => boolean, timeoutMs?: number): Promise<AuditRecord[]>;
}

export async function startKernelServe(o: KernelServeOptions, cleanups: Cleanups): Promise<KernelServe> {
  const dirs = makeTempDirs(`${o.name}-serve-`);
  cleanups.push(() => rmSync(dirs.dir, { recursive: true, force: true }));
  const asPort = freePort("127.0.0.1");
  writeFileSync(join(dirs.policyDir, "e2e.yaml"), o.policy({ as: asPort }));
  const pinDir = `/sys/fs/bpf/${o.name}-${process.pid}`;
  const configFile = join(dirs.dir, "sluice.yaml");
  const proxy = [...(o.upstreamCaFile ? [`  upstreamCaFile: ${o.upstreamCaFile}`] : []), ...(o.explicitProxy ? ["  explicit: 127.0.0.1:0"] : [])];
  writeFileSync(
    configFile,
    [`trustDomain: ${o.trustDomain}`, "kernel:", "  enabled: true", `  cgroup: ${o.cgroup}`, `  pinDir: ${pinDir}`, "  interfaces: []", ...(proxy.length ? ["proxy:", ...proxy] : []), o.extraConfig ?? "", ""].join("\n"),
  );
  const cliEnv = { SLUICE_DATA_DIR: dirs.dataDir, SLUICE_CONFIG: "none", SLUICE_TRUST_DOMAIN: o.trustDomain };
  const serve = await startServe({ dirs, env: { SLUICE_CONFIG: configFile, SLUICE_LISTEN: `127.0.0.1:${asPort}`, SLUICE_KERNEL_ENABLED: "true", SLUICE_PROXY_LISTEN: `127.0.0.1:${freeDualPort()}` } });
  cleanups.push(async () => {
    // Pinned enforcement outlives serve (by design): stop it, then detach with its config (which
    // serve.cleanup() deletes), or the pinned programs stay attached after the test.
    await Promise.race([serve.stop("SIGTERM"), Bun.sleep(5_000)]);
    const detached = await runSluice(["kernel", "detach", "--yes"], { env: { SLUICE_CONFIG: configFile, SLUICE_DATA_DIR: dirs.dataDir, SLUICE_KERNEL_ENABLED: "true" } });
    if (detached.code !== 0) console.warn(`sluice kernel detach failed (${detached.code}): ${detached.stderr}`);
    rmSync(pinDir, { recursive: true, force: true }); // detach unpins; the empty directories stay behind
    serve.cleanup();
  });
  const serving = await serve.waitForLog((l) => l.msg === "sluice serving");
  await serve.waitForLog((l) => l.msg === "kernel policy applied", 20_000);

  const sluice = (args: string[]) => runSluice(args, { env: cliEnv });
  const audit = async (): Promise<AuditRecord[]> => {
    const r = await sluice(["audit", "tail", "-n", "100000", "--json"]);
    if (r.code !== 0) throw new Error(`sluice audit tail failed (${r.code}): ${r.stderr}`);
    return r.stdout
      .trim()
      .split("\n")
      .filter((l) => l)
      .map((l) => JSON.parse(l) as AuditRecord);
  };
  return {
    serve,
    dataDir: dirs.dataDir,
    configFile,
    asPort,
    metricsUrl: String(serving.metrics),
    ...(serving.explicitProxy ? { explicitProxy: String(serving.explicitProxy) } : {}),
    sluice,
    async hostCaPem() {
      const r = await sluice(["trust", "print"]);
      if (r.code !== 0) throw new Error(`sluice trust print failed (${r.code}): ${r.stderr}`);
      return /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(r.stdout)![0];
    },
    audit,
    async waitForAudit(done, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const records = await audit();
        if (done(records) || Date.now() > until) return records;
        await Bun.sleep(100);
      }
    },
  };
}
