/** The consent page names where the answer goes (MCP security considerations: the redirect URI's host MUST be shown; loopback warned about). */
import { describe, expect, test } from "bun:test";
import { consentPage } from "../../../src/users/pages/views.ts";
import type { OAuthClient, UserRecord } from "../../../src/oauth/types.ts";

const client = { clientId: "c1", clientName: "Agent", redirectUris: [], grantTypes: ["authorization_code"], responseTypes: ["code"], tokenEndpointAuthMethod: "none" } as unknown as OAuthClient;
const user = { name: "alice", spiffeId: "spiffe://example.org/user/alice" } as unknown as UserRecord;
const LOOPBACK_WARNING = "a program on the computer that started this sign-in receives the result";

async function render(redirectUri: string): Promise<string> {
  const res = consentPage({ csrf: "t", pendingId: "p", client, user, resources: ["https://mcp.example/mcp"], scopes: [], redirectUri });
  const text = await res.text();
  return /<dt>Returns to<\/dt><dd>(.*?)<\/dd>/s.exec(text)![1]!;
}

describe("consent page: Returns to", () => {
  test("an https redirect shows its host, no loopback warning", async () => {
    const shown = await render("https://app.example:8443/cb");
    expect(shown).toContain("<code>app.example:8443</code>");
    expect(shown).not.toContain(LOOPBACK_WARNING);
  });

  test("a private-use scheme redirect shows its scheme (it has no host)", async () => {
    expect(await render("com.example.app:/oauth/cb")).toContain("<code>com.example.app:</code>");
  });

  for (const uri of ["http://127.0.0.1:5000/cb", "http://127.0.0.2:5000/cb", "http://[::1]:5000/cb", "http://localhost:5000/cb", "http://app.localhost:5000/cb"]) {
    test(`a loopback redirect (${uri}) is warned about`, async () => {
      expect(await render(uri)).toContain(LOOPBACK_WARNING);
    });
  }
});
