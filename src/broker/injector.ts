/**
 * The proxy's Injector (DESIGN.md §2 step 8): per request, a sluice access token is verified,
 * must belong to the workload that sent it (kernel-attested), and is replaced by the upstream
 * credential of the matching binding; it never leaves the host. Bindings without a human inject
 * into every request of their workload to their Service. One audit record per injected or
 * refused request; never a secret.
 */
import type { AccessTokenClaims, AccessTokenVerifier } from "../oauth/types.ts";
import type { CompiledBinding, PolicySnapshot } from "../policy/index.ts";
import type { ConnectionContext, InjectionDecision, Injector, RequestHead } from "../proxy/types.ts";
import type { Logger } from "../log/index.ts";
import type { AuditSink } from "./audit.ts";
import { BrokerError } from "./errors.ts";
import { bearerChallenge, originOf, servicesForResource } from "./resources.ts";
import type { AuthorizationCodeSource } from "./sources/authorization-code.ts";
import type { ClientCredentialsSource } from "./sources/client-credentials.ts";
import type { JwtSvidSource } from "./sources/jwt-svid.ts";
import { staticHeader } from "./sources/static.ts";
import type { SecretReader } from "./secrets.ts";

export interface InjectorDeps {
  readonly issuer: string;
  readonly policy: () => PolicySnapshot;
  readonly verifier: AccessTokenVerifier;
  readonly authCode: AuthorizationCodeSource;
  readonly clientCredentials: ClientCredentialsSource;
  readonly jwtSvid: JwtSvidSource;
  readonly secrets: SecretReader;
  readonly audit: AuditSink;
  readonly logger: Logger;
}

const MAX_TOKEN_CHARS = 16 * 1024;
const PASSED: InjectionDecision = Object.freeze({ kind: "forward", label: "passed" });

type Refusal = { status: number; label: string; kind: string; reason: string; challenge?: string; error?: string };

export class CredentialInjector implements Injector {
  constructor(private readonly d: InjectorDeps) {}

  decide(conn: ConnectionContext, head: RequestHead): InjectionDecision | Promise<InjectionDecision> {
    const token = this.#sluiceToken(head);
    if (token !== undefined) return this.#withSluiceToken(conn, token);
    const workload = conn.origin.workload;
    if (workload === undefined) return PASSED;
    const binding = this.d.policy().binding(workload, undefined, conn.service.name);
    if (!binding || binding.credentialSource.spec.type === "oauth2AuthorizationCode") return PASSED;
    return this.#inject(conn, binding, undefined, undefined, false);
  }

  /** The bearer token of the first Authorization header when it is a JWT whose `iss` is sluice (undefined otherwise). */
  #sluiceToken(head: RequestHead): string | undefined {
    for (const [name, value] of head.headers) {
      if (name.length !== 13 || name.toLowerCase() !== "authorization") continue;
      const m = /^Bearer +([A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*)\s*$/i.exec(value);
      if (!m || m[1]!.length > MAX_TOKEN_CHARS) continue;
      // Unverified peek at `iss`: anything sluice issued (valid or not) must never be forwarded.
      try {
        const payload = JSON.parse(Buffer.from(m[2]!, "base64url").toString("utf8")) as { iss?: unknown };
        if (payload.iss === this.d.issuer) return m[1]!;
      } catch {
        // not a JWT payload: not ours
      }
    }
    return undefined;
  }

  async #withSluiceToken(conn: ConnectionContext, token: string): Promise<InjectionDecision> {
    const workload = conn.origin.workload;
    const service = conn.service.name;
    let claims: AccessTokenClaims;
    try {
      claims = await this.d.verifier.verify(token);
    } catch (err) {
      const resource = originOf(conn.sni ?? conn.destination.host, conn.destination.port, "https");
      return this.#refuse(conn, undefined, {
        status: 401,
        label: "refused",
        kind: "broker.token_invalid",
        reason: err instanceof Error ? err.message.slice(0, 200) : "invalid token",
        challenge: bearerChallenge(resource, "invalid_token", "the sluice access token is invalid or expired"),
        error: "invalid_token",
      });
    }
    const user = claims.act?.sub;
    // DESIGN.md §2 step 8: the token is only good in the hands of the workload it was issued to.
    if (workload === undefined || claims.sub !== workload) {
      return this.#refuse(conn, user, {
        status: 403,
        label: "refused",
        kind: "broker.token_theft",
        reason: `token issued to ${claims.sub} presented by ${workload ?? "an unmanaged process"}`,
        error: "invalid_token",
      }, { issuedTo: claims.sub, presentedBy: workload ?? null });
    }
    const resource = this.#resourceFor(claims, service);
    if (resource === undefined) {
      return this.#refuse(conn, user, { status: 403, label: "refused", kind: "broker.token_audience", reason: `token audience ${JSON.stringify(claims.aud)} is not Service ${service}`, error: "invalid_token" });
    }
    const binding = this.d.policy().binding(workload, user, service);
    if (!binding) {
      // MCP authorization spec: no token passthrough. Without a binding the request stops here.
      return this.#refuse(conn, user, { status: 403, label: "refused", kind: "broker.binding_missing", reason: `no CredentialBinding for workload ${workload}, user ${user ?? "(none)"}, Service ${service}` });
    }
    return this.#inject(conn, binding, user, resource, true);
  }

  /** The aud entry (a resource URL) that names this connection's Service. */
  #resourceFor(claims: AccessTokenClaims, service: string): string | undefined {
    const snapshot = this.d.policy();
    const auds = typeof claims.aud === "string" ? [claims.aud] : claims.aud;
    return auds.find((aud) => servicesForResource(snapshot, aud).some((s) => s.name === service));
  }

  /**
   * Static and JWT-SVID credentials are at hand: decided synchronously (no Promise, so the proxy
   * need not pause the connection). OAuth sources may have to reach their upstream: async.
   */
  #inject(
    conn: ConnectionContext,
    binding: CompiledBinding,
    user: string | undefined,
    resource: string | undefined,
    /** The request carried a sluice token: its Authorization header goes whatever header the source sets. */
    hadSluiceToken: boolean,
  ): InjectionDecision | Promise<InjectionDecision> {
    const spec = binding.credentialSource.spec;
    if (spec.type !== "static" && spec.type !== "jwtSVID") return this.#injectFetched(conn, binding, user, resource, hadSluiceToken);
    let header: readonly [string, string];
    try {
      header = spec.type === "static" ? staticHeader(this.d.secrets, spec) : ["Authorization", `Bearer ${this.d.jwtSvid.token(conn.origin.workload!, spec.audience)}`];
    } catch (err) {
      return this.#credentialError(conn, binding, user, err);
    }
    return this.#injected(conn, binding, user, hadSluiceToken, header);
  }

  async #injectFetched(conn: ConnectionContext, binding: CompiledBinding, user: string | undefined, resource: string | undefined, hadSluiceToken: boolean): Promise<InjectionDecision> {
    const source = binding.credentialSource;
    const spec = source.spec;
    let header: readonly [string, string];
    try {
      switch (spec.type) {
        case "oauth2ClientCredentials":
          header = ["Authorization", `Bearer ${await this.d.clientCredentials.token(source.name, spec)}`];
          break;
        case "oauth2AuthorizationCode": {
          const got = await this.d.authCode.accessToken(source.name, user ?? "");
          if (got.kind !== "ok") {
            const res = resource ?? originOf(conn.sni ?? conn.destination.host, conn.destination.port, "https");
            return this.#refuse(conn, user, {
              status: 401,
              label: "challenged",
              kind: "broker.credential_unavailable",
              reason: got.kind === "missing" ? "no upstream credential stored" : got.reason,
              challenge: bearerChallenge(res, "invalid_token", "the upstream authorization is gone; authorize again"),
              error: "invalid_token",
            }, { source: source.name, binding: binding.name });
          }
          header = ["Authorization", `Bearer ${got.token}`];
          break;
        }
        default:
          throw new BrokerError("ERR_BROKER_CONFIG", `credential source type ${spec.type} is not fetched`);
      }
    } catch (err) {
      return this.#credentialError(conn, binding, user, err);
    }
    return this.#injected(conn, binding, user, hadSluiceToken, header);
  }

  #credentialError(conn: ConnectionContext, binding: CompiledBinding, user: string | undefined, err: unknown): InjectionDecision {
    const source = binding.credentialSource;
    const unavailable = err instanceof BrokerError && err.code === "ERR_BROKER_UPSTREAM_UNAVAILABLE";
    this.d.logger.warn("cannot get credential", { source: source.name, workload: conn.origin.workload, error: err });
    return this.#refuse(conn, user, {
      status: unavailable ? 503 : 502,
      label: "failed",
      kind: "broker.credential_error",
      reason: err instanceof BrokerError ? err.message : "internal error",
    }, { source: source.name, binding: binding.name });
  }

  #injected(conn: ConnectionContext, binding: CompiledBinding, user: string | undefined, hadSluiceToken: boolean, header: readonly [string, string]): InjectionDecision {
    const source = binding.credentialSource;
    this.d.audit.append({
      kind: "broker.inject",
      decision: "allow",
      subject: conn.origin.workload!,
      pid: conn.origin.pid,
      uid: conn.origin.uid,
      details: { user: user ?? null, service: conn.service.name, binding: binding.name, source: source.name, sourceType: source.spec.type, header: header[0] },
    });
    const remove = hadSluiceToken && header[0].toLowerCase() !== "authorization" ? ["Authorization", header[0]] : [header[0]];
    return { kind: "forward", removeHeaders: remove, setHeaders: [header], label: "injected" };
  }

  #refuse(conn: ConnectionContext, user: string | undefined, r: Refusal, extra: Record<string, unknown> = {}): InjectionDecision {
    this.d.audit.append({
      kind: r.kind,
      decision: "deny",
      ...(conn.origin.workload ? { subject: conn.origin.workload } : {}),
      pid: conn.origin.pid,
      uid: conn.origin.uid,
      details: { user: user ?? null, service: conn.service.name, status: r.status, reason: r.reason, ...extra },
    });
    const headers: [string, string][] = [["Content-Type", "application/json"], ["Cache-Control", "no-store"]];
    if (r.challenge) headers.push(["WWW-Authenticate", r.challenge]);
    const body = JSON.stringify({ error: r.error ?? (r.status === 403 ? "access_denied" : "server_error"), error_description: publicReason(r) });
    return { kind: "respond", status: r.status, headers, body, label: r.label };
  }
}

function publicReason(r: Refusal): string {
  switch (r.kind) {
    case "broker.token_theft":
      return "this access token was not issued to the process that sent it";
    case "broker.token_audience":
      return "this access token is not for this service";
    case "broker.binding_missing":
      return "no credential binding for this workload, user and service";
    default:
      return r.reason;
  }
}
