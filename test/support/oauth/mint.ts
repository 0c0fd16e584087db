/**
 * Mints a sluice access token with extra claims (e.g. `may_act`) using the AS's own signing keys,
 * opened from the same store (the token side's SigningKeys and TokenMinter, not a copy). sluice
 * itself has no request that sets `may_act`; the exchange enforces it when a token carries one.
 */
import { SigningKeys } from "../../../src/oauth/keys/signing-keys.ts";
import { TokenMinter, type AccessTokenInput } from "../../../src/oauth/tokens/minter.ts";
import { silentLogger } from "../../../src/log/index.ts";
import type { OAuthFixture } from "./fixture.ts";

export async function mintWithAsKeys(f: OAuthFixture, input: AccessTokenInput): Promise<string> {
  const o = f.config.oauth;
  const keys = await SigningKeys.open({ store: f.store, logger: silentLogger, keyTtlSeconds: o.signingKeyTtlSeconds, maxTokenTtlSeconds: o.accessTokenTtlSeconds + 60 });
  const minter = new TokenMinter(keys, f.issuer, o.accessTokenTtlSeconds, o.idTokenTtlSeconds);
  return (await minter.accessToken(input, Math.floor(Date.now() / 1000))).token;
}
