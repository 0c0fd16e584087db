/** GET /.well-known/spiffe-bundle through the real HTTP app composition on 127.0.0.1. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Elysia } from "elysia";
import { silentLogger } from "../../../src/log/index.ts";
import { createHttpApp } from "../../../src/server/http.ts";
import { BUNDLE_PATH, bundleRoutes, parseBundle } from "../../../src/spiffe/index.ts";
import { openCaFixture, TD, type CaFixture } from "./helpers.ts";

let f: CaFixture;
let app: Elysia;
let base: string;
beforeAll(async () => {
  f = await openCaFixture();
  app = createHttpApp({ logger: silentLogger, modules: [bundleRoutes(f.ca)] });
  app.listen({ hostname: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${app.server!.port}`;
});
afterAll(async () => {
  await app.stop();
  await f.cleanup();
});

test("serves the trust domain's bundle as application/json that parses back to it", async () => {
  const res = await fetch(base + BUNDLE_PATH);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/json");
  expect(res.headers.get("cache-control")).toMatch(/max-age=\d+/);
  const served = parseBundle(await res.text(), TD);
  expect(served.sequence).toBe(f.ca.bundle().sequence);
  expect(served.x509Authorities.map((d) => Buffer.from(d))).toEqual(f.ca.bundle().x509Authorities.map((d) => Buffer.from(d)));
  expect(served.jwtAuthorities).toEqual(f.ca.bundle().jwtAuthorities);
});

test("after a rotation the endpoint serves the new bundle (new sequence, both authorities)", async () => {
  const before = f.ca.bundle().sequence;
  f.ca.rotateNow();
  const served = parseBundle(await (await fetch(base + BUNDLE_PATH)).text(), TD);
  expect(served.sequence).toBe(before + 1);
  expect(served.x509Authorities.length).toBe(2);
});

test("other methods are not served", async () => {
  const res = await fetch(base + BUNDLE_PATH, { method: "POST", body: "{}" });
  expect(res.status).toBe(404);
});
