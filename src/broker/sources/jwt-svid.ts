/** `jwtSVID`: a JWT-SVID of the calling workload for the configured audience, reused until half its lifetime. */
import type { TrustDomainCA } from "../../spiffe/index.ts";

const MAX_CACHED = 4096;

export class JwtSvidSource {
  readonly #cache = new Map<string, { token: string; renewAt: number }>();

  constructor(
    private readonly ca: TrustDomainCA,
    private readonly clock: () => number,
  ) {}

  token(workload: string, audience: readonly string[]): string {
    const key = `${workload}\n${audience.join(" ")}`;
    const now = this.clock();
    const hit = this.#cache.get(key);
    if (hit && now < hit.renewAt) return hit.token;
    const svid = this.ca.issueJwtSvid({ spiffeId: workload, audience });
    if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
    this.#cache.set(key, { token: svid.token, renewAt: svid.issuedAt + (svid.expiresAt - svid.issuedAt) / 2 });
    return svid.token;
  }

  clear(): void {
    this.#cache.clear();
  }
}
