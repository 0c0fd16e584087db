import { describe, expect, test } from "bun:test";
import { createLogger } from "../../../src/log/index.ts";
import { SluiceError } from "../../../src/errors/index.ts";

function capture(level: "debug" | "info" | "warn" | "error" = "info", format: "json" | "text" = "json") {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level, format, write: (l) => lines.push(l) }) };
}

describe("logger", () => {
  test("one JSON object per line with time, level, msg and fields; child fields merge", () => {
    const { lines, logger } = capture();
    logger.child({ component: "policy" }).info("applied", { generation: 3 });
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(rec).toMatchObject({ level: "info", msg: "applied", component: "policy", generation: 3 });
    expect(Date.parse(String(rec.time))).not.toBeNaN();
  });
  test("levels below the minimum are dropped", () => {
    const { lines, logger } = capture("warn");
    logger.info("no");
    logger.debug("no");
    logger.warn("yes");
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(["yes"]);
  });
  test("errors keep message and code, never the stack", () => {
    const { lines, logger } = capture();
    logger.error("failed", { error: new SluiceError("ERR_X", "it broke") });
    expect(JSON.parse(lines[0]!)).toMatchObject({ error: { message: "it broke", code: "ERR_X" } });
    expect(lines[0]).not.toContain("at ");
  });
  test("secret-looking fields and values are redacted", () => {
    const { lines, logger } = capture();
    logger.info("request", { authorization: "Bearer abc.def", nested: { client_secret: "s3cr3t", ok: "fine" }, header: "Bearer xyz" });
    expect(lines[0]).not.toContain("abc.def");
    expect(lines[0]).not.toContain("s3cr3t");
    expect(lines[0]).not.toContain("xyz");
    expect(JSON.parse(lines[0]!)).toMatchObject({ authorization: "[redacted]", nested: { client_secret: "[redacted]", ok: "fine" } });
  });
  test("text format for humans", () => {
    const { lines, logger } = capture("info", "text");
    logger.info("sluice serving", { url: "http://127.0.0.1:8443", note: "two words" });
    expect(lines[0]).toMatch(/^\S+ INFO  sluice serving url=http:\/\/127\.0\.0\.1:8443 note="two words"$/);
  });
});
