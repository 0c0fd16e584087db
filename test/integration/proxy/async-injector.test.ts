/**
 * An injector that answers with a Promise (a token refresh in flight): the connection is not
 * paused while it works, so body bytes and pipelined requests that arrive meanwhile wait in the
 * session's buffer (paused past maxHeadBytes) and must all come out in order, intact.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { connect as tlsConnect } from "node:tls";
import type { Injector } from "../../../src/proxy/index.ts";
import { createTestCa } from "../../support/test-ca.ts";
import { agentWorkload, policyFrom, serviceDoc, startHarness, type Harness } from "./support.ts";
import { startUpstream, type TestUpstream } from "./upstream.ts";

const ca = createTestCa("upstream test CA");
let up: TestUpstream;
let h: Harness;
let decisions = 0;

const injector: Injector = {
  decide: async () => {
    decisions++;
    // Let the agent's next bytes arrive before the decision does.
    await Bun.sleep(30);
    return { kind: "forward", setHeaders: [["Authorization", "Bearer upstream-secret"]], label: "injected" };
  },
};

beforeAll(async () => {
  up = startUpstream(ca, ["api.test"]);
  const snapshot = policyFrom(agentWorkload() + serviceDoc("api", [`api.test:${up.port}`], "intercept"));
  h = await startHarness({
    ca,
    snapshot,
    destination: { address: "127.0.0.1", port: up.port },
    injector,
    resolver: { cached: (host) => (host === "api.test" ? { v4: ["127.0.0.1"], v6: [] } : { v4: [], v6: [] }) },
  });
});

afterAll(async () => {
  await h?.close();
  up?.stop();
  ca.cleanup();
});

describe("async injector", () => {
  test("a body larger than maxHeadBytes sent while the injector decides arrives intact", async () => {
    const body = randomBytes(512 * 1024);
    const res = await fetch(`https://127.0.0.1:${h.proxy.listening.v4!.port}/upload`, { method: "POST", body, tls: { ca: h.proxy.hostCa.certPem, serverName: "api.test" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ bytes: body.length, sha256: createHash("sha256").update(body).digest("hex") });
    expect(up.seen.at(-1)).toBe("Bearer upstream-secret");
  });

  test("pipelined requests written at once are each decided and answered in order", async () => {
    const before = decisions;
    const text = await new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: "127.0.0.1", port: h.proxy.listening.v4!.port, servername: "api.test", ca: h.proxy.hostCa.certPem }, () => {
        const req = (path: string, close = false) => `GET ${path} HTTP/1.1\r\nHost: api.test\r\n${close ? "Connection: close\r\n" : ""}\r\n`;
        s.write(req("/echo?n=1") + req("/echo?n=2") + req("/echo?n=3", true));
      });
      let out = "";
      s.setEncoding("latin1");
      s.on("data", (d: string) => (out += d));
      s.on("end", () => resolve(out));
      s.on("error", reject);
    });
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
    expect(statuses).toEqual(["200", "200", "200"]);
    expect(decisions - before).toBe(3);
  });
});
