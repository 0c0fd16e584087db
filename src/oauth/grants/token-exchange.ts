/**
 * grant_type=urn:ietf:params:oauth:grant-type:token-exchange (RFC 8693), checked in this order:
 *   1. subject_token + subject_token_type required; actor_token_type required with actor_token (§2.1)
 *   2. verify both tokens (sluice access token or JWT-SVID of this trust domain)
 *   3. who may exchange:
 *      - with an actor other than the subject (delegation): the subject token's `may_act` must name
 *        the actor (§4.4); without `may_act`, only the client the subject token was issued to, for its
 *        own proven SPIFFE ID
 *      - without an actor: the subject token was issued to this client, or is this workload's own SVID
 *   4. audience: `resource` / `audience`, at least one, each through the ResourceValidator
 *      (RFC 8707; a disallowed one → invalid_target); for a sluice access token also within its
 *      `aud`: an exchange never reaches a resource the user did not consent to
 *   5. scope ⊆ the subject token's scope (sluice tokens) or the client's registered scope
 *   6. access token with `act` = {sub: actor, act: previous actors} (§4.1); issued_token_type (§2.2.1)
 */
import { OAuthError } from "../types.ts";
import type { ActorClaim } from "../tokens/minter.ts";
import type { GrantHandler } from "./context.ts";
import { actDepth, readExchangeToken, TOKEN_TYPE } from "./exchange-tokens.ts";
import { narrowScopes, required, requestedResources, requestedScopes } from "./params.ts";

const MAX_ACT_DEPTH = 8;

export const tokenExchangeGrant: GrantHandler = async ({ params, auth, now }, deps) => {
  const subjectToken = required(params, "subject_token");
  const subjectType = required(params, "subject_token_type");
  const actorToken = params.get("actor_token");
  const actorType = params.get("actor_token_type");
  if (actorToken && !actorType) throw new OAuthError("invalid_request", "actor_token_type is required with actor_token (RFC 8693 §2.1)");
  if (!actorToken && actorType) throw new OAuthError("invalid_request", "actor_token_type without actor_token (RFC 8693 §2.1)");
  const wanted = params.get("requested_token_type");
  if (wanted !== null && wanted !== TOKEN_TYPE.accessToken)
    throw new OAuthError("invalid_request", `requested_token_type "${wanted.slice(0, 80)}" is not supported; sluice issues ${TOKEN_TYPE.accessToken}`);

  const subject = await readExchangeToken(subjectToken, subjectType, "subject_token", deps, now);
  const actorFromToken = actorToken ? (await readExchangeToken(actorToken, actorType!, "actor_token", deps, now)).sub : undefined;
  const client = auth.client;
  const actor = actorFromToken ?? (auth.spiffeId !== subject.sub ? auth.spiffeId : undefined);

  const issuedToThisClient = subject.kind === "access_token" && subject.clientId === client.clientId;
  if (actor !== undefined && actor !== subject.sub) {
    if (subject.mayAct) {
      // RFC 8693 §4.4: may_act names the party allowed to act for the subject.
      if (subject.mayAct.sub !== actor) throw new OAuthError("invalid_grant", `the subject token's may_act does not allow ${actor} to act for ${subject.sub} (RFC 8693 §4.4)`);
    } else if (!(issuedToThisClient && auth.spiffeId === actor)) {
      throw new OAuthError("invalid_grant", `${actor} may not act for ${subject.sub}: the subject token has no may_act naming it (RFC 8693 §4.4)`);
    }
  } else if (!issuedToThisClient && auth.spiffeId !== subject.sub) {
    throw new OAuthError("invalid_grant", "the subject token was not issued to this client and does not name it in may_act");
  }

  const resources = [...new Set([...(requestedResources(params, deps.resources) ?? []), ...(requestedResources(params, deps.resources, "audience") ?? [])])];
  if (resources.length === 0) throw new OAuthError("invalid_target", "name the target of the new token with resource or audience (RFC 8693 §2.1)");
  if (subject.audience) {
    const outside = resources.find((r) => !subject.audience!.includes(r));
    if (outside) throw new OAuthError("invalid_target", `${outside} is not in the subject token's audience; an exchange can narrow the audience of a sluice token, never move it`);
  }

  const asked = requestedScopes(params);
  const ceiling = subject.kind === "access_token" ? subject.scopes! : client.scope?.split(" ").filter(Boolean);
  const scopes = ceiling ? narrowScopes(asked, ceiling, "subject token's scope") : (asked ?? []);

  let act: ActorClaim | undefined = subject.act;
  if (actor !== undefined && actor !== subject.sub) {
    if (actDepth(subject.act) + 1 > MAX_ACT_DEPTH) throw new OAuthError("invalid_grant", `more than ${MAX_ACT_DEPTH} nested actors`);
    act = subject.act ? { sub: actor, act: subject.act } : { sub: actor };
  }
  const access = await deps.minter.accessToken({ subject: subject.sub, audience: resources, clientId: client.clientId, scopes, ...(act ? { act } : {}) }, now);
  deps.audit.append({
    kind: "oauth.token.exchange",
    decision: "allow",
    subject: subject.sub,
    details: { client_id: client.clientId, jti: access.jti, aud: resources, scope: scopes.join(" "), subject_token: subject.kind, ...(act ? { actor: act.sub } : {}) },
  });
  return {
    access_token: access.token,
    issued_token_type: TOKEN_TYPE.accessToken,
    token_type: "Bearer",
    expires_in: access.exp - now,
    ...(scopes.length > 0 ? { scope: scopes.join(" ") } : {}),
  };
};
