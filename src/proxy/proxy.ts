/**
 * `startProxy`: the redirect listener (127.0.0.1 and ::1 on `proxy.listen`'s port, where the
 * kernel sends managed workloads' connects to intercept/upgrade Services), the optional explicit
 * CONNECT listener (`proxy.explicit`), the host CA, the upstream pool and the metrics.
 *
 * Per connection: who (kernel record or loopback peer attestation) → which Service (policy) →
 * its `tls:` mode: intercept (TLS terminated with a host-CA leaf, HTTP/1.1 relay, TLS upstream),
 * upgrade (plain HTTP from the agent, TLS or SPIFFE mTLS upstream), passthrough (bytes untouched).
 * Connections without a record, or to something that is not a Service, are refused and reported.
 */
import type { Socket, TCPSocketListener } from "bun";
import { isIP } from "node:net";
import type { AuditInput } from "../audit/index.ts";
import { parseHostPort } from "../config/address.ts";
import type { SluiceConfig } from "../config/index.ts";
import { ConfigError } from "../errors/index.ts";
import type { OriginalDestination } from "../kernel/original-destination.ts";
import type { Logger } from "../log/index.ts";
import type { PolicySnapshot } from "../policy/index.ts";
import type { Store } from "../store/index.ts";
import { connectionHandlers, terminateTls, type ConnHandler, type ConnState } from "./connection.ts";
import { ProxyError } from "./errors.ts";
import { ConnectReader } from "./explicit.ts";
import { openHostCa, type HostCa, type HostCaOptions } from "./host-ca/index.ts";
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from "./http/limits.ts";
import { simpleResponse } from "./http/serialize.ts";
import { HttpSession } from "./http/session.ts";
import { ProxyMetrics } from "./metrics.ts";
import { ByteRelay } from "./relay.ts";
import { interceptNameSets, ServiceDirectory, type HostAddresses, type PolicySource, type ResolvedService } from "./services.ts";
import type { ConnectionContext, ConnectionOrigin, Injector, ResponseRewriter } from "./types.ts";
import { UpstreamPool, type UpstreamTarget } from "./upstream.ts";
import { upstreamTrust, type UpstreamTls } from "./upstream-tls.ts";

export interface PeerAddress {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export interface ExplicitClient {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
}

export interface WorkloadSvid {
  readonly certPem: string;
  readonly keyPem: string;
  /** PEM trust anchors for the upstream's SVID (the workload's bundle). */
  readonly bundlePem: string;
}

type MaybePromise<T> = T | Promise<T>;

export interface StartProxyOptions {
  readonly config: SluiceConfig;
  readonly store: Store;
  readonly policy: PolicySource & { subscribe?(fn: (snapshot: PolicySnapshot) => void): () => void };
  readonly logger: Logger;
  readonly audit: { append(input: AuditInput): unknown };
  /** Default: forward every request unchanged (label "passed"). */
  readonly injector?: Injector;
  readonly rewriters?: readonly ResponseRewriter[];
  /** The kernel's record for an accepted redirected connection (lookupOriginalDestination over orig_dst). */
  readonly originalDestination: (peer: PeerAddress) => OriginalDestination | undefined;
  /** Kernel workload id → SPIFFE ID (undefined: unmanaged). */
  readonly workloadSpiffeId: (kernelWorkloadId: number) => string | undefined;
  /** Explicit proxy attribution (loopback peer → process → workload). Required when proxy.explicit is set. */
  readonly attestExplicitClient?: (client: ExplicitClient) => MaybePromise<ConnectionOrigin | undefined>;
  /** The calling workload's X.509-SVID for mTLS to SPIFFE upstreams (`tls: upgrade` + spiffeID). */
  readonly svidFor?: (workloadSpiffeId: string) => MaybePromise<WorkloadSvid | undefined>;
  /** Resolved addresses of policy host names (src/dns HostResolver), to map redirected IPs to Services. */
  readonly resolver?: HostAddresses;
  readonly limits?: Partial<HttpLimits>;
  readonly hostCa?: HostCaOptions;
  /** PEM files of trusted system roots; default Debian/RHEL bundle paths (tests narrow it). */
  readonly systemTrustFiles?: readonly string[];
}

export interface ListenAddress {
  readonly address: string;
  readonly port: number;
}

export interface RunningProxy {
  readonly listening: { readonly v4?: ListenAddress; readonly v6?: ListenAddress };
  readonly explicit?: ListenAddress;
  readonly hostCa: HostCa;
  readonly metrics: ProxyMetrics;
  /** Idle upstream connections (tests, status). */
  readonly pool: UpstreamPool;
  stop(): Promise<void>;
}

const PASS_THROUGH: Injector = { decide: () => ({ kind: "forward", label: "passed" }) };

export async function startProxy(options: StartProxyOptions): Promise<RunningProxy> {
  const { config, logger: parentLogger, audit } = options;
  const logger = parentLogger.child({ component: "proxy" });
  if (config.proxy.explicit && !options.attestExplicitClient) throw new ConfigError("proxy.explicit is set but no client attestation was wired (attestExplicitClient)");
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
  const injector = options.injector ?? PASS_THROUGH;
  const rewriters = options.rewriters ?? [];
  const metrics = new ProxyMetrics();
  const pool = new UpstreamPool();
  const services = new ServiceDirectory(options.policy, options.resolver);
  const trust = upstreamTrust(config.proxy.upstreamCaFile, options.systemTrustFiles);
  const hostCa = openHostCa(options.store, options.hostCa);
  hostCa.prepare(interceptNameSets(options.policy.current()));
  const unsubscribe = options.policy.subscribe?.((snapshot) => {
    try {
      hostCa.prepare(interceptNameSets(snapshot));
    } catch (err) {
      logger.error("minting leaves for the new policy failed", { error: String(err) });
    }
  });
  let nextId = 1;

  const refuse = (socket: Socket<ConnState>, reason: string, details: Record<string, unknown>, answer?: ProxyError) => {
    metrics.connection("refused");
    logger.warn(`connection refused: ${reason}`, details);
    audit.append({ kind: "proxy.connection", decision: "deny", details: { reason, ...details } });
    if (answer) socket.write(simpleResponse(answer.status, `sluice: ${answer.message}\n`, { close: true }));
    socket.end();
  };

  const upstreamTarget = async (resolved: ResolvedService, origin: ConnectionOrigin, address: string, port: number): Promise<UpstreamTarget | string> => {
    const service = resolved.service;
    if (service.tls === "passthrough") return { key: `${service.name}|${address}|${port}|raw`, service: service.name, address, port, timeoutSeconds: 0 };
    let tls: UpstreamTls = { serverName: resolved.host, ca: trust };
    let identity = resolved.host;
    if (service.tls === "upgrade" && service.spiffeID) {
      if (!origin.workload) return `${service.name} needs mTLS with the workload's SVID, and the connecting process is not a managed workload`;
      const svid = await options.svidFor?.(origin.workload);
      if (!svid) return `no X.509-SVID available for ${origin.workload} to reach ${service.name}`;
      tls = { serverName: resolved.host, ca: svid.bundlePem, clientCert: { certPem: svid.certPem, keyPem: svid.keyPem }, expectSpiffeId: service.spiffeID };
      identity = `${resolved.host}|${origin.workload}`;
    }
    return { key: `${service.name}|${address}|${port}|${identity}`, service: service.name, address, port, tls, timeoutSeconds: limits.responseHeadTimeoutSeconds };
  };

  /** Hands an attributed connection to its Service's mode. */
  const serve = async (socket: Socket<ConnState>, origin: ConnectionOrigin, resolved: ResolvedService, address: string, port: number, destination: { host: string; port: number }, rest?: Buffer) => {
    const target = await upstreamTarget(resolved, origin, address, port);
    if (typeof target === "string") return refuse(socket, target, { service: resolved.service.name, pid: origin.pid }, new ProxyError("ERR_PROXY_UPSTREAM_IDENTITY", target, 502));
    const id = nextId++;
    const service = resolved.service;
    const context = (sni?: string): ConnectionContext => ({ id, origin, destination, service, ...(sni ? { sni } : {}) });
    const session = (s: Socket<unknown>, sni?: string): ConnHandler => new HttpSession(s, { context: context(sni), target, pool, injector, rewriters, limits, metrics, logger, audit: options.audit });
    metrics.connection(service.tls);
    if (service.tls === "passthrough") {
      const relay = new ByteRelay(socket as Socket<unknown>, target, (r, error) => {
        if (error) logger.warn("passthrough upstream failed", { service: service.name, reason: error.message });
        metrics.observe({ service: service.name, label: "passthrough", status: error ? 502 : 200, bytesIn: r.bytesIn, bytesOut: r.bytesOut, seconds: 0 });
      });
      socket.data.handler = relay;
      if (rest && rest.length) relay.onClientData(rest);
    } else if (service.tls === "intercept") {
      const identity = hostCa.identityFor(resolved.host);
      terminateTls(socket, identity, (tls, sni) => session(tls, sni), (reason) => {
        metrics.connection("tls_failed");
        logger.info(reason, { service: service.name, pid: origin.pid });
      });
    } else {
      const h = session(socket as Socket<unknown>);
      socket.data.handler = h;
      if (rest && rest.length) h.onClientData(rest);
    }
    socket.resume();
  };

  const onRedirected = (socket: Socket<ConnState>) => {
    socket.data = {};
    const peer: PeerAddress = { address: socket.remoteAddress, port: socket.remotePort, family: socket.remoteFamily === "IPv6" ? 6 : 4 };
    let dst: OriginalDestination | undefined;
    try {
      dst = options.originalDestination(peer);
    } catch (err) {
      return refuse(socket, "original destination lookup failed", { peer: `${peer.address}:${peer.port}`, error: String(err) });
    }
    if (!dst) return refuse(socket, "no kernel record for this connection (not redirected by sluice)", { peer: `${peer.address}:${peer.port}` });
    const workload = dst.workload === 0 ? undefined : options.workloadSpiffeId(dst.workload);
    const origin: ConnectionOrigin = { pid: dst.pid, uid: dst.uid, gid: dst.gid, cgroupId: dst.cgroupId, via: "kernel-redirect", ...(workload ? { workload } : {}) };
    const resolved = services.at(dst.address, dst.port);
    if (!resolved) return refuse(socket, "destination is not a Service", { destination: `${dst.address}:${dst.port}`, pid: dst.pid, ...(workload ? { workload } : {}) });
    socket.pause();
    serve(socket, origin, resolved, dst.address, dst.port, { host: resolved.host, port: dst.port }).catch((err) => refuse(socket, "setting up the connection failed", { error: String(err) }));
  };

  const onExplicit = (socket: Socket<ConnState>) => {
    socket.data = {};
    const client: ExplicitClient = { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, localAddress: socket.localAddress, localPort: socket.localPort };
    socket.timeout(limits.idleTimeoutSeconds);
    socket.data.handler = new ConnectReader(socket as Socket<unknown>, limits, (target, rest) => {
      (async () => {
        const origin = await options.attestExplicitClient!(client);
        if (!origin) return refuse(socket, "the connecting process could not be identified", { peer: `${client.remoteAddress}:${client.remotePort}` }, new ProxyError("ERR_PROXY_UNATTRIBUTED", "the connecting process could not be identified", 403));
        const resolved = services.at(target.host, target.port);
        if (!resolved) return refuse(socket, "CONNECT target is not a Service", { destination: `${target.host}:${target.port}`, pid: origin.pid, ...(origin.workload ? { workload: origin.workload } : {}) }, new ProxyError("ERR_PROXY_NO_SERVICE", `${target.host}:${target.port} is not a Service in policy`, 403));
        if (origin.workload) {
          const decision = options.policy.current().decideEgress(origin.workload, { host: target.host, port: target.port });
          if (decision.verdict === "deny") return refuse(socket, "policy denies this destination", { destination: `${target.host}:${target.port}`, workload: origin.workload }, new ProxyError("ERR_PROXY_NO_SERVICE", `policy does not allow ${origin.workload} to reach ${target.host}:${target.port}`, 403));
        }
        socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        socket.timeout(0);
        // Dial what the kernel maps were built from for a policy host name; anything else by name.
        const ips = isIP(target.host) ? undefined : options.resolver?.cached(target.host);
        const address = ips?.v4[0] ?? ips?.v6[0] ?? target.host;
        await serve(socket, origin, resolved, address, target.port, target, rest);
      })().catch((err) => refuse(socket, "setting up the tunnel failed", { error: String(err) }));
    });
  };

  const listen = (hostname: string, port: number, open: (s: Socket<ConnState>) => void): TCPSocketListener<ConnState> =>
    Bun.listen<ConnState>({ hostname, port, data: {}, socket: { ...connectionHandlers, open } });

  const listeners: TCPSocketListener<ConnState>[] = [];
  const redirect = parseHostPort(config.proxy.listen, "proxy.listen");
  const v4Host = isIP(redirect.host) === 4 ? redirect.host : "127.0.0.1";
  const listening: { v4?: ListenAddress; v6?: ListenAddress } = {};
  for (let attempt = 0; ; attempt++) {
    const v4 = listen(v4Host, redirect.port, onRedirected);
    try {
      const v6 = listen("::1", v4.port, onRedirected);
      listeners.push(v4, v6);
      listening.v4 = { address: v4Host, port: v4.port };
      listening.v6 = { address: "::1", port: v6.port };
      break;
    } catch (err) {
      v4.stop(true);
      if (redirect.port !== 0 || attempt >= 8) throw new ConfigError(`proxy.listen: cannot listen on [::1]:${v4.port} as well as ${v4Host}:${v4.port} (${(err as Error).message})`);
    }
  }
  let explicit: ListenAddress | undefined;
  if (config.proxy.explicit) {
    const e = parseHostPort(config.proxy.explicit, "proxy.explicit");
    const l = listen(e.host, e.port, onExplicit);
    listeners.push(l);
    explicit = { address: e.host, port: l.port };
  }
  logger.info("proxy listening", { v4: `${listening.v4!.address}:${listening.v4!.port}`, v6: `[::1]:${listening.v6!.port}`, ...(explicit ? { explicit: `${explicit.address}:${explicit.port}` } : {}) });

  return {
    listening,
    ...(explicit ? { explicit } : {}),
    hostCa,
    metrics,
    pool,
    async stop() {
      unsubscribe?.();
      for (const l of listeners) l.stop(true);
      pool.close();
    },
  };
}
