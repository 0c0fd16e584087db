/**
 * The admin socket on its own (a real unix socket in a temp dir): areas registered by parts,
 * request checking, the token, a stale socket from a previous run, errors without stack traces.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AdminError, callAdminSocket, requestObject, startAdminSocket, stringField, unknownOperation, type AdminArea } from "../../../src/admin/index.ts";
import { SluiceError } from "../../../src/errors/index.ts";
import { silentLogger } from "../../../src/log/index.ts";

const dir = mkdtempSync(join(tmpdir(), "sluice-admin-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type EchoRequest = { op: "echo"; text: string } | { op: "fail" } | { op: "crash" };
const calls: EchoRequest[] = [];
const echo: AdminArea<EchoRequest> = {
  name: "echo",
  parse(value) {
    const v = requestObject(value);
    if (v.op === "echo") return { op: "echo", text: stringField(v, "text", 10) };
    if (v.op === "fail" || v.op === "crash") return { op: v.op };
    throw unknownOperation(v.op);
  },
  async run(request) {
    calls.push(request);
    if (request.op === "fail") throw new SluiceError("ERR_ECHO_FAILED", "it failed as asked");
    if (request.op === "crash") throw new Error("secret internals at /some/path");
    return { echoed: request.text };
  },
};

test("two areas with one name are refused", () => {
  expect(() => startAdminSocket({ dataDir: dir, areas: [echo, echo], logger: silentLogger })).toThrow(/registered twice/);
});

test("requests reach the area; its errors come back with their code, internal ones without details", async () => {
  writeFileSync(join(dir, "admin.sock"), "left from a crashed run");
  const socket = startAdminSocket({ dataDir: dir, areas: [echo], logger: silentLogger });
  try {
    expect(statSync(socket.path).isSocket()).toBe(true);
    expect(await callAdminSocket(dir, "echo", { op: "echo", text: "hi" })).toEqual({ echoed: "hi" });
    expect(calls).toEqual([{ op: "echo", text: "hi" }]);

    const failure = (request: unknown, area = "echo") => callAdminSocket(dir, area, request).then(() => undefined, (err: SluiceError) => ({ code: err.code, message: err.message }));
    expect(await failure({ op: "fail" })).toEqual({ code: "ERR_ECHO_FAILED", message: "it failed as asked" });
    expect(await failure({ op: "crash" })).toEqual({ code: "ERR_INTERNAL", message: "internal error; see the sluice log" });
    expect(await failure({ op: "echo", text: "far too long for the limit" })).toMatchObject({ code: "ERR_ADMIN_REQUEST" });
    expect(await failure({ op: "echo" })).toMatchObject({ code: "ERR_ADMIN_REQUEST" });
    expect(await failure([1, 2])).toMatchObject({ code: "ERR_ADMIN_REQUEST" });
    expect(await failure({ op: "drop" })).toMatchObject({ code: "ERR_ADMIN_OP", message: 'unknown operation "drop"' });
    expect(await failure({ op: "echo", text: "x" }, "other")).toMatchObject({ code: "ERR_ADMIN_OP" });
    expect(calls).toHaveLength(3); // echo, fail, crash: nothing else reached the area

    const token = (await Bun.file(join(dir, "admin.token")).text()).trim();
    const get = await fetch("http://sluice/v1/echo", { unix: socket.path, headers: { authorization: `Bearer ${token}` } });
    expect(get.status).toBe(405);
    const big = await fetch("http://sluice/v1/echo", { unix: socket.path, method: "POST", headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ op: "echo", text: "x".repeat(64 * 1024) }) });
    expect(big.status).toBe(413);
    const prefix = await fetch("http://sluice/v1/echo", { unix: socket.path, method: "POST", headers: { authorization: `Bearer ${token.slice(0, -1)}` }, body: "{}" });
    expect(prefix.status).toBe(401);
  } finally {
    await socket.stop();
  }
  // Stopped: the CLI says serve is unreachable or gone, with the error's code.
  const after = await callAdminSocket(dir, "echo", { op: "echo", text: "hi" }).catch((err: AdminError) => err.code);
  expect(after).toBe("ERR_ADMIN_UNAVAILABLE");
});
