import { expect, test } from "bun:test";
import { HostResolver, type LookupFn } from "../../../src/dns/index.ts";
import { silentLogger } from "../../../src/log/index.ts";

test("localhost through getaddrinfo (/etc/hosts): loopback addresses", async () => {
  const r = new HostResolver({ logger: silentLogger });
  expect(await r.ensure(["LOCALHOST."])).toBe(true);
  expect(r.cached("localhost").v4).toContain("127.0.0.1");
});

test("unresolved names allow nothing; a failed refresh keeps the last answer; changes are announced", async () => {
  // The one injected fault: answers that change and a resolver that fails on demand, which a
  // test cannot make the host's resolver do.
  let answers: { address: string; family: number }[] = [{ address: "10.0.0.1", family: 4 }, { address: "2001:db8::1", family: 6 }];
  let fail = false;
  const lookup: LookupFn = async () => {
    if (fail) throw new Error("SERVFAIL");
    return answers;
  };
  const r = new HostResolver({ logger: silentLogger, lookup });
  expect(r.cached("svc.example")).toEqual({ v4: [], v6: [] });
  await r.ensure(["svc.example"]);
  expect(r.cached("svc.example")).toEqual({ v4: ["10.0.0.1"], v6: ["2001:db8::1"] });
  let announced = 0;
  r.onChange(() => announced++);
  expect(await r.refresh()).toBe(false);
  answers = [{ address: "10.0.0.2", family: 4 }];
  expect(await r.refresh()).toBe(true);
  expect(announced).toBe(1);
  fail = true;
  expect(await r.refresh()).toBe(false);
  expect(r.cached("svc.example").v4).toEqual(["10.0.0.2"]);
});

test("a name that never resolves stays empty", async () => {
  const r = new HostResolver({ logger: silentLogger, lookup: async () => Promise.reject(new Error("NXDOMAIN")) });
  await r.ensure(["nope.invalid"]);
  expect(r.cached("nope.invalid")).toEqual({ v4: [], v6: [] });
});
