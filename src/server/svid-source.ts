import { bundleToJson, verifyJwtSvid, type TrustDomainCA } from "../spiffe/index.ts";
import type { SvidSource } from "../spiffe/workload-api/index.ts";
import { SluiceError } from "../errors/index.ts";

/** The CA as the Workload API sees it: issuance, JWT validation against every bundle, bundle maps. */
export function svidSourceFor(ca: TrustDomainCA): SvidSource {
  return {
    async issueX509Svid({ spiffeId, ttlSeconds }) {
      const svid = ca.issueX509Svid({ spiffeId, ttlSeconds });
      if (!svid.privateKey) throw new SluiceError("ERR_INTERNAL", "CA issued an X.509-SVID without its private key");
      return { spiffeId: svid.spiffeId, certChain: svid.certChain, privateKey: svid.privateKey, expiresAt: svid.expiresAt };
    },
    async issueJwtSvid({ spiffeId, audience, ttlSeconds }) {
      const svid = ca.issueJwtSvid({ spiffeId, audience, ttlSeconds });
      return { token: svid.token, expiresAt: svid.expiresAt };
    },
    async validateJwtSvid(token, audience) {
      const verified = verifyJwtSvid(token, ca.bundles, { audience });
      return { spiffeId: verified.spiffeId, claims: { ...verified.claims } };
    },
    x509Bundles() {
      return new Map(ca.bundles.all().map((b) => [b.trustDomain, [...b.x509Authorities]]));
    },
    jwtBundles() {
      const encoder = new TextEncoder();
      return new Map(ca.bundles.all().map((b) => [b.trustDomain, encoder.encode(bundleToJson(b, { only: "jwt-svid" }))]));
    },
    onBundleChange(fn) {
      return ca.bundles.onBundleChange(() => fn());
    },
  };
}
