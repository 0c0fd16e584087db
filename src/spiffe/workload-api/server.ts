/**
 * The SPIFFE Workload Endpoint of sluice: unix socket → SO_PEERCRED at accept → gRPC over HTTP/2
 * → SpiffeWorkloadAPI handlers that attest the caller on every call.
 */
import type { Socket } from "node:net";
import { GrpcServer } from "./grpc/server.ts";
import { UpdateHub, workloadApiMethods, type ServiceDeps } from "./service/index.ts";
import { listenUnix, type UnixListener } from "./transport/listener.ts";
import { peerOfSocket, type ConnectionPeer } from "./transport/peercred.ts";
import { DEFAULT_WORKLOAD_API_LIMITS, type WorkloadApiServer, type WorkloadApiServerOptions } from "./types.ts";

export function createWorkloadApiServer(options: WorkloadApiServerOptions): WorkloadApiServer {
  const limits = { ...DEFAULT_WORKLOAD_API_LIMITS, ...options.limits };
  const rotateAtFraction = options.rotateAtFraction ?? 0.5;
  if (!(rotateAtFraction > 0 && rotateAtFraction < 1)) throw new TypeError("rotateAtFraction must be between 0 and 1 (exclusive)");
  const logger = options.logger.child({ component: "workload-api" });
  const updates = new UpdateHub(logger);
  const deps: ServiceDeps = {
    svids: options.svids,
    callers: options.callers,
    logger,
    audit: options.audit,
    allowUnauthenticatedVerifiers: options.allowUnauthenticatedVerifiers ?? false,
    rotateAtFraction,
    updates,
  };
  const grpc = new GrpcServer<ConnectionPeer>(workloadApiMethods(deps), limits, logger);

  const perUid = new Map<number, number>();
  let total = 0;
  let pidfdReported = false;

  const onConnection = (socket: Socket): void => {
    // Read before any byte of the request: the kernel's record of who connected.
    let peer: ConnectionPeer;
    try {
      peer = peerOfSocket(socket);
    } catch (err) {
      logger.error("cannot read the credentials of a workload api caller; closing the connection", { err });
      socket.destroy();
      return;
    }
    if (!pidfdReported) {
      pidfdReported = true;
      if (peer.pidfdSource !== "SO_PEERPIDFD") logger.warn("SO_PEERPIDFD unavailable (Linux < 6.5): pid reuse between connect and accept cannot be ruled out", { fallback: peer.pidfdSource });
    }
    const uidCount = perUid.get(peer.uid) ?? 0;
    if (total >= limits.maxConnections || uidCount >= limits.maxConnectionsPerUid) {
      logger.warn("workload api connection limit reached; closing the new connection", { pid: peer.pid, uid: peer.uid, total, forUid: uidCount });
      peer.release();
      socket.destroy();
      return;
    }
    total++;
    perUid.set(peer.uid, uidCount + 1);
    grpc.serve(socket, peer, () => {
      total--;
      const n = (perUid.get(peer.uid) ?? 1) - 1;
      if (n === 0) perUid.delete(peer.uid);
      else perUid.set(peer.uid, n);
      peer.release();
    });
  };

  let listener: UnixListener | undefined;
  let unsubscribe: (() => void)[] = [];
  let state: "new" | "starting" | "running" | "stopped" = "new";
  let stopping: Promise<void> | undefined;

  return {
    address: options.socketPath,

    stats: () => ({ connections: grpc.connectionCount, streams: updates.size }),

    async start() {
      if (state !== "new") throw new Error(`workload api server cannot start: it is ${state}`);
      state = "starting";
      unsubscribe = [options.callers.onChange(() => updates.emit("identity")), options.svids.onBundleChange(() => updates.emit("bundle"))];
      try {
        listener = await listenUnix(options.socketPath, onConnection, logger);
      } catch (err) {
        for (const u of unsubscribe) u();
        state = "stopped";
        throw err;
      }
      state = "running";
      logger.info("workload api listening", { socket: options.socketPath });
    },

    stop() {
      stopping ??= (async () => {
        state = "stopped";
        for (const u of unsubscribe) u();
        // net.Server.close() waits for open connections, so start it, end the calls, then wait.
        const closed = listener?.close();
        await grpc.close();
        await closed;
        logger.info("workload api stopped");
      })();
      return stopping;
    },
  };
}
