/**
 * The mTLS listener relays the app's response headers whole: several Set-Cookie headers (a page
 * that sets the CSRF cookie and clears a stale session cookie) all reach the client. Real TLS
 * (node:https client without a client certificate); the route is a stand-in that sets two cookies.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { request as httpsRequest } from "node:https";
import type { Elysia } from "elysia";
import { silentLogger } from "../../../src/log/index.ts";
import { startMtlsListener, type MtlsListener } from "../../../src/oauth/clients/index.ts";
import type { RouteModule } from "../../../src/server/http.ts";
import { openFixture, TD, type Fixture } from "./support.ts";

const pem = (der: Uint8Array) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END CERTIFICATE-----\n`;

const twoCookies: RouteModule = {
  name: "test-two-cookies",
  mount(app: Elysia) {
    app.get("/test/cookies", () => {
      const headers = new Headers({ "content-type": "text/plain" });
      headers.append("set-cookie", "sluice-csrf=abc; Path=/; HttpOnly; SameSite=Lax");
      headers.append("set-cookie", "sluice-session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
      return new Response("ok", { headers });
    });
  },
};

let f: Fixture;
let mtls: MtlsListener;
beforeAll(async () => {
  f = await openFixture({ extraModules: () => [twoCookies] });
  mtls = await startMtlsListener({ listen: "127.0.0.1:0", app: f.app, ca: f.ca, logger: silentLogger });
});
afterAll(async () => {
  await mtls.close();
  await f.close();
});

test("every Set-Cookie header of the app's response reaches the client", async () => {
  const roots = f.ca.bundle().x509Authorities.map(pem).join("");
  const cookies = await new Promise<string[]>((resolve, reject) => {
    const req = httpsRequest(`${mtls.url}/test/cookies`, {
      method: "GET",
      ca: roots,
      agent: false,
      checkServerIdentity: (_host, cert) => (cert.subjectaltname === `URI:spiffe://${TD}/sluice/oauth` ? undefined : new Error(`unexpected server ${cert.subjectaltname}`)),
    }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.headers["set-cookie"] ?? []));
    });
    req.on("error", reject);
    req.end();
  });
  expect(cookies).toEqual(["sluice-csrf=abc; Path=/; HttpOnly; SameSite=Lax", "sluice-session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"]);
});
