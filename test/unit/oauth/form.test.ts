import { describe, expect, test } from "bun:test";
import { OAuthError, parseForm, readForm } from "../../../src/oauth/index.ts";

function post(body: string, type = "application/x-www-form-urlencoded", method = "POST"): Request {
  return new Request("http://127.0.0.1/oauth2/token", { method, headers: { "content-type": type }, ...(method === "POST" ? { body } : {}) });
}

async function refused(p: Promise<unknown>): Promise<OAuthError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(OAuthError);
    return err as OAuthError;
  }
  throw new Error("expected a refusal");
}

describe("form bodies (RFC 6749 §3.1, §3.2)", () => {
  test("parses + and percent-encoding; repeats resource and audience (RFC 8707 §2, RFC 8693 §2.1)", () => {
    const p = parseForm("scope=a+b&resource=https%3A%2F%2Fa&resource=https%3A%2F%2Fb&audience=x&audience=y");
    expect(p.get("scope")).toBe("a b");
    expect(p.getAll("resource")).toEqual(["https://a", "https://b"]);
    expect(p.getAll("audience")).toEqual(["x", "y"]);
  });
  test("refuses duplicates of any other parameter", () => {
    expect(() => parseForm("code=a&code=b")).toThrow(/more than once/);
  });
  test("refuses bad percent-encoding, empty names, long values, too many parameters", () => {
    expect(() => parseForm("a=%ZZ")).toThrow(/percent-encoding/);
    expect(() => parseForm("=x")).toThrow(/name/);
    expect(() => parseForm(`a=${"x".repeat(20_000)}`)).toThrow(/longer than/);
    expect(() => parseForm(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join("&"))).toThrow(/too many/);
  });
  test("readForm: content type, method, size (streamed) and UTF-8", async () => {
    expect((await readForm(post("a=1"))).get("a")).toBe("1");
    expect((await readForm(post("a=1", "application/x-www-form-urlencoded; charset=UTF-8"))).get("a")).toBe("1");
    expect((await refused(readForm(post("{}", "application/json")))).status).toBe(415);
    expect((await refused(readForm(post("", undefined, "GET")))).status).toBe(405);
    expect((await refused(readForm(post(`a=${"x".repeat(40_000)}`)))).status).toBe(413);
    const bad = new Request("http://127.0.0.1/", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new Uint8Array([0x61, 0x3d, 0xff]) });
    expect((await refused(readForm(bad))).description).toMatch(/UTF-8/);
  });
});
