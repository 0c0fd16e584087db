/**
 * `sluice serve`: composes the parts. Start order: store → audit → policy → HTTP. Stop in reverse.
 * A failure while starting stops what was started and rethrows (Caddy-style: all or nothing).
 */
import type { Elysia } from "elysia";
import { AuditLog } from "../audit/index.ts";
import { parseHostPort, type LoadedConfig } from "../config/index.ts";
import { SluiceError, errnoCode } from "../errors/index.ts";
import type { Logger } from "../log/index.ts";
import { PolicyEngine, formatDiagnostic, type PolicyDiagnostic, type PolicySnapshot } from "../policy/index.ts";
import { openStore, type Store } from "../store/index.ts";
import { healthRoutes } from "./health.ts";
import { createHttpApp } from "./http.ts";
import { startIdentity, type IdentityServices } from "./identity.ts";
import { startKernelEnforcement, type KernelEnforcement } from "../kernel/enforcer/index.ts";
import { lastGoodPolicyStore } from "./last-good-policy.ts";
import { withConcreteListenPort } from "./ephemeral.ts";
import { startAuthorization } from "./authorization.ts";
import { startProxyPart } from "./proxy.ts";
import { MetricsRegistry, startMetricsListener } from "../metrics/index.ts";

export { createHttpApp, HTTP_LIMITS, type RouteModule } from "./http.ts";

export interface SluiceServer {
  /** Base URL of the HTTP listener (with the real port when `listen` asked for port 0). */
  readonly url: string;
  readonly identity: IdentityServices;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly policy: PolicyEngine;
  readonly metrics: MetricsRegistry;
  /** URL of GET /metrics, or null when metrics.listen is off. */
  readonly metricsUrl: string | null;
  stop(reason: string): Promise<void>;
}

export class PolicyStartError extends SluiceError {
  constructor(readonly diagnostics: readonly PolicyDiagnostic[]) {
    super("ERR_POLICY_INVALID", `policy in force would be invalid and there is no last good policy to fall back to:\n${diagnostics.map((d) => "  " + formatDiagnostic(d)).join("\n")}`);
  }
}

export async function startServer(requested: LoadedConfig, logger: Logger): Promise<SluiceServer> {
  const loaded = withConcreteListenPort(requested);
  const { config } = loaded;
  const stack: (() => Promise<void> | void)[] = [];
  const unwind = async () => {
    for (const stop of stack.reverse()) await stop();
  };
  try {
    const metrics = new MetricsRegistry();
    const store = await openStore({ dataDir: config.dataDir, logger });
    stack.push(() => store.close());

    const audit = await AuditLog.open(store, { mirrorPath: config.audit.file, logger });
    stack.push(() => audit.close());

    const policy = await startPolicy(loaded, store, audit, logger);
    stack.push(() => policy.stop());

    const identity = await startIdentity({ config, store, audit, policy, logger });
    stack.push(identity.stop);

    const authorization = await startAuthorization({ config, store, audit, policy, ca: identity.value.ca, attestor: identity.value.attestor, logger });
    stack.push(authorization.stop);

    // The proxy listens before the kernel redirects to it; it reads the kernel's records at accept time.
    let kernel: Awaited<ReturnType<typeof startKernel>> | undefined;
    const proxy = await startProxyPart({
      config,
      store,
      audit,
      policy,
      ca: identity.value.ca,
      attestor: identity.value.attestor,
      injector: authorization.value.broker.injector,
      metrics,
      logger: logger.child({ component: "proxy" }),
      kernel: () => kernel?.enforcement,
    });
    stack.push(proxy.stop);

    kernel = await startKernel(config, { store, audit, policy, attestor: identity.value.attestor, logger, proxyListening: true });
    const enforcement = kernel.enforcement;
    if (enforcement) stack.push(() => enforcement.stop());

    let lastReloadFailed = false;
    policy.subscribe(() => (lastReloadFailed = false));
    policy.onError(() => (lastReloadFailed = true));
    const app = createHttpApp({
      logger: logger.child({ component: "http" }),
      modules: [
        healthRoutes({
          policy: () => ({ generation: policy.current().generation, hash: policy.current().hash, lastReloadFailed }),
          kernel: () => (enforcement ? { enforcing: true, generation: enforcement.state().generation, interfacesGuarded: enforcement.netdev().complete } : { enforcing: false, reason: kernel!.reason }),
        }),
        ...identity.value.routes,
        ...authorization.value.routes,
      ],
    });
    const { host, port } = parseHostPort(config.listen, "listen");
    listen(app, host, port, config);
    stack.push(async () => void (await app.stop()));
    const mtlsUrl = await authorization.value.startMtls(app);
    const url = `${config.tls.certFile ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${app.server!.port}`;

    const metricsListener = config.metrics.listen ? startMetricsListener(config.metrics.listen, metrics) : undefined;
    if (metricsListener) stack.push(() => metricsListener.stop());

    const snapshot = policy.current();
    logger.info("sluice serving", {
      metrics: metricsListener?.url ?? "off",
      ...(mtlsUrl ? { mtls: mtlsUrl } : {}),
      proxy: [proxy.value.listening.v4, proxy.value.listening.v6].filter((a) => a).map((a) => `${a!.address.includes(":") ? `[${a!.address}]` : a!.address}:${a!.port}`),
      ...(proxy.value.explicit ? { explicitProxy: `${proxy.value.explicit.address}:${proxy.value.explicit.port}` } : {}),
      url,
      issuer: config.issuer,
      trustDomain: config.trustDomain,
      workloadSocket: identity.value.workloadSocket,
      ca: identity.value.ca.mode,
      policyDir: config.policyDir,
      policy: policyFields(snapshot),
      config: loaded.file ?? "defaults",
    });
    audit.append({ kind: "serve.start", decision: "info", details: { url, policyGeneration: snapshot.generation, policyHash: snapshot.hash } });

    let stopping: Promise<void> | undefined;
    return {
      url,
      identity: identity.value,
      store,
      audit,
      policy,
      metrics,
      metricsUrl: metricsListener?.url ?? null,
      stop(reason) {
        stopping ??= (async () => {
          logger.info("sluice stopping", { reason });
          audit.append({ kind: "serve.stop", decision: "info", details: { reason } });
          await unwind();
          logger.info("sluice stopped");
        })();
        return stopping;
      },
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}

async function startPolicy(loaded: LoadedConfig, store: Store, audit: AuditLog, logger: Logger): Promise<PolicyEngine> {
  const { config } = loaded;
  const log = logger.child({ component: "policy" });
  const engine = new PolicyEngine({
    dir: config.policyDir,
    trustDomain: config.trustDomain,
    logger: log,
    debounceMs: config.policy.reloadDebounceMs,
    lastGood: lastGoodPolicyStore(store),
  });
  const started = await engine.start();
  for (const d of started.diagnostics) (d.severity === "error" ? log.error : log.warn)(formatDiagnostic(d));
  if (!started.ok) {
    if (!started.usedLastGood) throw new PolicyStartError(started.diagnostics.filter((d) => d.severity === "error"));
    audit.append({ kind: "policy.reject", decision: "error", details: rejectDetails(started.diagnostics, "started with the last good policy") });
  }
  engine.subscribe((snapshot) => {
    log.info("policy applied", policyFields(snapshot));
    audit.append({ kind: "policy.apply", decision: "info", details: policyFields(snapshot) });
  });
  engine.onError((diagnostics) => {
    for (const d of diagnostics) (d.severity === "error" ? log.error : log.warn)(formatDiagnostic(d));
    log.error("policy rejected; the last good policy stays in force", { generation: engine.current().generation });
    audit.append({ kind: "policy.reject", decision: "error", details: rejectDetails(diagnostics, "kept the last good policy") });
  });
  return engine;
}

/**
 * Kernel enforcement when enabled. If the kernel cannot do it (no root, no BTF…), sluice still
 * serves identity but says so loudly: every start logs an error and audits `kernel.unavailable`,
 * and /healthz reports `kernel.enforcing: false` — degraded visibly, never silently.
 */
async function startKernel(config: LoadedConfig["config"], deps: Omit<Parameters<typeof startKernelEnforcement>[0], "config">): Promise<{ enforcement?: KernelEnforcement; reason: string }> {
  if (!config.kernel.enabled) {
    deps.logger.warn("kernel enforcement is disabled (kernel.enabled: false): egress is NOT enforced");
    return { reason: "disabled (kernel.enabled: false)" };
  }
  try {
    return { enforcement: await startKernelEnforcement({ config, ...deps }), reason: "" };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    deps.logger.error("kernel enforcement is UNAVAILABLE: egress is NOT enforced (see `sluice doctor`)", { error: err });
    deps.audit.append({ kind: "kernel.unavailable", decision: "error", details: { reason } });
    return { reason };
  }
}

function policyFields(s: PolicySnapshot): Record<string, unknown> {
  return { generation: s.generation, hash: s.hash, ...s.stats };
}

function rejectDetails(diagnostics: readonly PolicyDiagnostic[], outcome: string): Record<string, unknown> {
  const errors = diagnostics.filter((d) => d.severity === "error");
  return { outcome, errors: errors.length, first: errors.slice(0, 5).map(formatDiagnostic) };
}

function listen(app: Elysia, host: string, port: number, config: LoadedConfig["config"]): void {
  try {
    const tls = config.tls.certFile && config.tls.keyFile ? { cert: Bun.file(config.tls.certFile), key: Bun.file(config.tls.keyFile) } : undefined;
    app.listen({ hostname: host, port, ...(tls ? { tls } : {}) });
  } catch (err) {
    const code = errnoCode(err);
    const why = code === "EADDRINUSE" ? "the address is in use (another sluice or another program listens there)" : code === "EACCES" ? "permission denied (ports below 1024 need root)" : (err as Error).message;
    throw new SluiceError("ERR_LISTEN", `listen ${config.listen}: ${why}; set listen in sluice.yaml or SLUICE_LISTEN`, { cause: err });
  }
}
