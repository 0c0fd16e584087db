/**
 * Registration driven by clients nobody here wrote: the MCP TypeScript SDK's `registerClient` and
 * oauth4webapi's `dynamicClientRegistrationRequest` / `processDynamicClientRegistrationResponse`
 * (strict RFC 7591 response checks), over real HTTP on loopback.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { registerClient } from "@modelcontextprotocol/sdk/client/auth.js";
import * as oauth from "oauth4webapi";
import { openFixture, type Fixture } from "./support.ts";

let f: Fixture;
beforeAll(async () => {
  f = await openFixture({ registrationRate: { ratePerSecond: 1000, burst: 1000 } });
});
afterAll(() => f.close());

test("MCP SDK registerClient", async () => {
  const info = await registerClient(f.url, {
    metadata: { issuer: f.url, authorization_endpoint: `${f.url}/oauth2/authorize`, token_endpoint: `${f.url}/oauth2/token`, registration_endpoint: `${f.url}/oauth2/register`, response_types_supported: ["code"] },
    clientMetadata: { client_name: "sdk agent", redirect_uris: ["http://localhost:8976/callback"], grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "none" },
  });
  expect(info.client_id).toBeString();
  expect(info.client_secret).toBeUndefined();
  expect(await f.clients.registry.get(info.client_id)).toMatchObject({ clientName: "sdk agent", redirectUris: ["http://localhost:8976/callback"] });
});

test("oauth4webapi dynamic registration (and its error handling of an RFC 7591 §3.2.2 error)", async () => {
  const as: oauth.AuthorizationServer = { issuer: f.url, registration_endpoint: `${f.url}/oauth2/register` };
  const ok = await oauth.processDynamicClientRegistrationResponse(
    await oauth.dynamicClientRegistrationRequest(as, { redirect_uris: ["http://127.0.0.1:4000/cb"], token_endpoint_auth_method: "none" }, { [oauth.allowInsecureRequests]: true }),
  );
  expect(ok.client_id).toBeString();
  expect(ok.token_endpoint_auth_method).toBe("none");

  const refused = await oauth
    .processDynamicClientRegistrationResponse(await oauth.dynamicClientRegistrationRequest(as, { redirect_uris: ["http://app.example/cb"] }, { [oauth.allowInsecureRequests]: true }))
    .catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(oauth.ResponseBodyError);
  expect((refused as oauth.ResponseBodyError).error).toBe("invalid_redirect_uri");
});
