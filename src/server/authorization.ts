/**
 * The authorization half of `sluice serve` (DESIGN §2 steps 5–7): clients (registration, SPIFFE
 * client auth, local attestation), the token side, users and `/oauth2/authorize`, and the broker
 * whose upstream step sits between consent and code issuance; and serve's admin socket, which
 * offers the users', clients' and broker's operations to the CLI while serve holds the store.
 *
 * Construction order breaks the cycles: the user directory exists before the token side, the
 * token side's codes/verifier before users and the broker, and the broker's step is read lazily by
 * users while the broker gets the users' resumer once both exist.
 */
import { startAdminSocket } from "../admin/index.ts";
import type { AuditLog } from "../audit/index.ts";
import type { SluiceConfig } from "../config/index.ts";
import { holdsSocket, readStartTime, type Attestor } from "../identity/index.ts";
import type { Logger } from "../log/index.ts";
import { createClientRegistry, startMtlsListener, callerContextFor, startOAuth, type AttestPeer, type OAuthServer } from "../oauth/index.ts";
import type { PolicyEngine } from "../policy/index.ts";
import type { TrustDomainCA } from "../spiffe/index.ts";
import type { Store } from "../store/index.ts";
import { credentialsAdminArea, startBroker, type Broker } from "../broker/index.ts";
import { clientsAdminArea } from "../oauth/clients/index.ts";
import { startUsers, userDirectory, type UsersService } from "../users/index.ts";
import type { RouteModule } from "./http.ts";
import type { Started } from "./identity.ts";

export interface AuthorizationServices {
  readonly oauth: OAuthServer;
  readonly users: UsersService;
  readonly broker: Broker;
  /** Mounted on the public listener, in this order. */
  readonly routes: readonly RouteModule[];
  /** Binds the mTLS listener (when `oauth.mtlsListen` is set) once the HTTP app exists. */
  startMtls(app: { handle(request: Request): Promise<Response> | Response }): Promise<string | undefined>;
}

export interface AuthorizationDeps {
  readonly config: SluiceConfig;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly policy: PolicyEngine;
  readonly ca: TrustDomainCA;
  readonly attestor: Attestor;
  readonly logger: Logger;
}

export async function startAuthorization(deps: AuthorizationDeps): Promise<Started<AuthorizationServices>> {
  const { config, store, audit, policy, ca, attestor, logger } = deps;
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s();
  };
  try {
    // A loopback caller is a local process: its workload SPIFFE ID binds registrations (DESIGN §2 step 5).
    const attest: AttestPeer = async (peer) => {
      try {
        // The pidfd rule (DESIGN §6): pin the process by its start time, and after attesting check it
        // still holds the socket, so a pid reused since the socket lookup is never credited.
        const startTime = readStartTime(peer.pid);
        const attestation = await attestor.identify(peer.pid, policy.current(), { expect: { startTime } });
        return holdsSocket(peer.pid, peer.inode) ? attestation.match.spiffeId : undefined;
      } catch {
        return undefined; // the process exited or changed: no attestation rather than a guess
      }
    };
    const clients = await createClientRegistry({ config, store, audit, ca, logger, attest });
    stops.push(() => clients.stop());

    const directory = userDirectory(config, store);
    const oauth = await startOAuth({
      config,
      store,
      audit,
      policy,
      ca,
      clients: clients.registry,
      users: directory,
      logger,
      callerOf: (request, server) => callerContextFor(request, server, attest),
    });
    stops.push(() => oauth.stop());

    let broker: Broker | undefined;
    const users = await startUsers({
      config,
      store,
      audit,
      clients: clients.registry,
      codes: oauth.codes,
      resources: oauth.resources,
      revoker: oauth.revoker,
      logger,
      steps: () => (broker ? [broker.step] : []),
    });
    stops.push(() => users.stop());
    if (users.passkeyProblem) logger.warn("passkey login will not work with this issuer", { issuer: config.issuer, reason: users.passkeyProblem });

    broker = await startBroker({ config, store, audit, policy, ca, verifier: oauth.verifier, resumer: users.resumer, logger });
    stops.push(() => broker!.stop());

    try {
      const admin = startAdminSocket({
        dataDir: store.dataDir,
        areas: [users.adminArea, clientsAdminArea((id) => clients.registry.remove(id, "removed")), credentialsAdminArea((source, user) => broker!.revokeCredentials(source, user))],
        logger,
      });
      stops.push(() => admin.stop());
    } catch (err) {
      // Serving matters more than the CLI path: say loudly that the writing CLI commands need serve stopped.
      logger.error("admin socket unavailable: `sluice user`, `sluice client rm` and `sluice credentials revoke` will fail while serve runs", { error: err });
    }

    let mtlsClose: (() => Promise<void>) | undefined;
    stops.push(async () => {
      await mtlsClose?.();
    });
    const services: AuthorizationServices = {
      oauth,
      users,
      broker,
      routes: [...clients.routes, ...oauth.routes, ...users.routes, ...broker.routes],
      async startMtls(app) {
        if (!config.oauth.mtlsListen) return undefined;
        const listener = await startMtlsListener({ listen: config.oauth.mtlsListen, app, ca, tls: config.tls, logger });
        mtlsClose = () => listener.close();
        return listener.url;
      },
    };
    return { value: services, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
