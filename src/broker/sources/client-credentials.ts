/**
 * `oauth2ClientCredentials`: a token from the source's token endpoint (client_id + secret, scopes,
 * audience), cached until `refreshAhead` before it expires (at most half its lifetime), one request
 * in flight per source.
 */
import type { UpstreamHttp } from "../http.ts";
import { clientCredentialsToken } from "../oauth-client.ts";
import type { SecretReader } from "../secrets.ts";
import { SingleFlight } from "../single-flight.ts";
import type { CredentialSourceSpec } from "../../policy/index.ts";

type Spec = Extract<CredentialSourceSpec, { type: "oauth2ClientCredentials" }>;

const DEFAULT_LIFETIME_MS = 300_000;

export class ClientCredentialsSource {
  readonly #cache = new Map<string, { token: string; renewAt: number; specKey: string }>();
  readonly #flights = new SingleFlight<string>();

  constructor(
    private readonly http: UpstreamHttp,
    private readonly secrets: SecretReader,
    private readonly refreshAheadMs: number,
    private readonly clock: () => number,
  ) {}

  async token(source: string, spec: Spec): Promise<string> {
    const specKey = JSON.stringify(spec);
    const hit = this.#cache.get(source);
    if (hit && hit.specKey === specKey && this.clock() < hit.renewAt) return hit.token;
    return this.#flights.run(source, async () => {
      const secret = this.secrets.read(spec.clientSecretFrom);
      const start = this.clock();
      const set = await clientCredentialsToken(this.http, spec.tokenEndpoint, { clientId: spec.clientID, clientSecret: secret, authMethod: "client_secret_basic" }, {
        scopes: spec.scopes,
        ...(spec.audience ? { audience: spec.audience } : {}),
      });
      const lifetime = set.expiresIn !== undefined ? set.expiresIn * 1000 : DEFAULT_LIFETIME_MS;
      this.#cache.set(source, { token: set.accessToken, renewAt: start + lifetime - Math.min(this.refreshAheadMs, lifetime / 2), specKey });
      return set.accessToken;
    });
  }

  /** Drops cached tokens of sources no longer in policy. */
  retain(sources: ReadonlySet<string>): void {
    for (const name of this.#cache.keys()) if (!sources.has(name)) this.#cache.delete(name);
  }
}
