/** HTTP/1.1 framing (RFC 9112): head parsing limits and smuggling guards, chunked tracking, serialization. */
import { describe, expect, test } from "bun:test";
import { ProxyError } from "../../../src/proxy/errors.ts";
import { bodyTracker } from "../../../src/proxy/http/body.ts";
import { parseRequestHead, parseResponseHead, requestFraming, responseFraming, wantsClose } from "../../../src/proxy/http/head.ts";
import { DEFAULT_HTTP_LIMITS as L } from "../../../src/proxy/http/limits.ts";
import { simpleResponse, upstreamRequestHead } from "../../../src/proxy/http/serialize.ts";

const req = (text: string) => parseRequestHead(text, L);
const status = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as ProxyError).status;
  }
  return 0;
};

describe("request heads (RFC 9112 §3, §5)", () => {
  test("parses method, target, version and headers in order, keeping case", () => {
    const h = req("POST /a?b=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2");
    expect(h).toEqual({ method: "POST", target: "/a?b=1", version: "HTTP/1.1", headers: [["Host", "x"], ["X-A", "1"], ["x-a", "2"]] });
  });
  test("rejects obs-fold, whitespace before the colon, bad names and versions", () => {
    expect(status(() => req("GET / HTTP/1.1\r\nA: 1\r\n continued"))).toBe(400);
    expect(status(() => req("GET / HTTP/1.1\r\nA : 1"))).toBe(400);
    expect(status(() => req("GET / HTTP/1.1\r\nA(b): 1"))).toBe(400);
    expect(status(() => req("GET / HTTP/2.0"))).toBe(505);
    expect(status(() => req("GET /"))).toBe(400);
    expect(status(() => req("GET / x HTTP/1.1"))).toBe(400);
  });
  test("more header fields than the limit is 431", () => {
    const many = Array.from({ length: L.maxHeaders + 1 }, (_, i) => `h${i}: v`).join("\r\n");
    expect(status(() => req(`GET / HTTP/1.1\r\n${many}`))).toBe(431);
  });
});

describe("message framing (RFC 9112 §6.3)", () => {
  test("requests: none, length, chunked; smuggling shapes refused", () => {
    expect(requestFraming(req("GET / HTTP/1.1\r\nHost: x"))).toEqual({ kind: "none" });
    expect(requestFraming(req("POST / HTTP/1.1\r\nContent-Length: 5"))).toEqual({ kind: "length", length: 5 });
    expect(requestFraming(req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked"))).toEqual({ kind: "chunked" });
    expect(status(() => requestFraming(req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5")))).toBe(400);
    expect(status(() => requestFraming(req("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6")))).toBe(400);
    expect(status(() => requestFraming(req("POST / HTTP/1.1\r\nContent-Length: -1")))).toBe(400);
    expect(status(() => requestFraming(req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip")))).toBe(400);
    expect(status(() => requestFraming(req("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked")))).toBe(501);
    expect(status(() => requestFraming(req("POST / HTTP/1.0\r\nTransfer-Encoding: chunked")))).toBe(400);
  });
  test("responses: HEAD, 1xx, 204, 304 have no body; no length means until close", () => {
    const r = parseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: 10", L);
    expect(responseFraming("HEAD", 200, r.headers)).toEqual({ kind: "none" });
    for (const s of [103, 204, 304]) expect(responseFraming("GET", s, r.headers)).toEqual({ kind: "none" });
    expect(responseFraming("GET", 200, r.headers)).toEqual({ kind: "length", length: 10 });
    expect(responseFraming("GET", 200, [])).toEqual({ kind: "close" });
    expect(responseFraming("GET", 200, [["Transfer-Encoding", "chunked"]])).toEqual({ kind: "chunked" });
  });
  test("connection persistence (RFC 9112 §9.3)", () => {
    expect(wantsClose("HTTP/1.1", [])).toBe(false);
    expect(wantsClose("HTTP/1.1", [["Connection", "keep-alive, close"]])).toBe(true);
    expect(wantsClose("HTTP/1.0", [])).toBe(true);
    expect(wantsClose("HTTP/1.0", [["Connection", "Keep-Alive"]])).toBe(false);
  });
});

describe("chunked bodies (RFC 9112 §7.1)", () => {
  const body = Buffer.from("4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\nNEXT");
  test("finds the end byte by byte, across any split, and decodes the payload", () => {
    for (let split = 1; split < body.length; split++) {
      const parts: Buffer[] = [];
      const t = bodyTracker({ kind: "chunked" }, L, (b) => parts.push(Buffer.from(b)));
      const a = t.consume(body.subarray(0, split), 0);
      const b = t.done ? 0 : t.consume(body.subarray(split), 0);
      expect(t.done).toBe(true);
      expect(a + b).toBe(body.length - 4);
      expect(Buffer.concat(parts).toString()).toBe("Wikipedia");
    }
  });
  test("malformed chunk sizes and missing CRLFs are errors", () => {
    for (const bad of ["x\r\n", "4\r\nWikiXX", "4\nWiki", "1234567890abc\r\n"]) {
      const t = bodyTracker({ kind: "chunked" }, L);
      expect(() => t.consume(Buffer.from(bad), 0)).toThrow(ProxyError);
    }
  });
  test("fixed length stops at its length", () => {
    const t = bodyTracker({ kind: "length", length: 3 }, L);
    expect(t.consume(Buffer.from("abcdef"), 1)).toBe(3);
    expect(t.done).toBe(true);
  });
});

describe("serialization", () => {
  test("hop-by-hop fields (RFC 9110 §7.6.1) and Connection-listed ones are dropped; injector sets replace", () => {
    const head = req("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Private\r\nX-Private: 1\r\nAuthorization: Bearer a\r\nProxy-Authorization: b\r\nKeep-Alive: 5");
    const out = Buffer.from(upstreamRequestHead(head, { kind: "forward", setHeaders: [["authorization", "Bearer b"]], label: "t" })).toString("latin1");
    expect(out).toBe("GET / HTTP/1.1\r\nHost: x\r\nauthorization: Bearer b\r\n\r\n");
  });
  test("the proxy's own responses carry a length and no injected CR/LF", () => {
    const r = Buffer.from(simpleResponse(403, "no\n", { headers: [["X-Why", "a\r\nInjected: 1"]], close: true })).toString();
    expect(r).toBe("HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain; charset=utf-8\r\nX-Why: a  Injected: 1\r\ncontent-length: 3\r\nconnection: close\r\n\r\nno\n");
  });
});
