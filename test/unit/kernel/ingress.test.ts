/** compileIngress: Services with inbound.onlyThroughSluice → the XDP ingress LPM entries. */
import { expect, test } from "bun:test";
import { compileIngress } from "../../../src/kernel/compile/index.ts";
import { INGRESS_VERDICTS, CODECS } from "../../../src/kernel/layout.ts";
import { buildPolicy } from "../../../src/policy/index.ts";

const service = (name: string, spec: string) => `apiVersion: sluice/v1alpha1\nkind: Service\nmetadata: {name: ${name}}\nspec:\n${spec}`;

function snapshot(...docs: string[]) {
  const r = buildPolicy(docs.map((text, i) => ({ path: `${i}.yaml`, text })), { trustDomain: "sluice.test" });
  if (!r.snapshot) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  return r.snapshot;
}

const show = (e: { port: number; proto: number; prefixLen: number; addr: Uint8Array; verdict: number }) =>
  `${e.port}/${e.proto} ${[...e.addr].join(".")}/${e.prefixLen} ${e.verdict === INGRESS_VERDICTS.ALLOW ? "allow" : "protected"}`;

test("each port of a protected Service gets a PROTECTED marker per protocol and family, and ALLOW entries per allowFrom block", () => {
  const s = snapshot(
    service("db", "  addresses: [{address: 10.0.0.5, port: 5432}, {address: db.internal, port: 5432}]\n  inbound:\n    onlyThroughSluice: true\n    allowFrom: [10.1.0.0/16]\n"),
    service("web", "  addresses: [{address: 10.0.0.5, port: 8080}]\n"),
  );
  const { v4, v6 } = compileIngress(s);
  expect(v4.map(show).sort()).toEqual(["5432/17 0.0.0.0/0 protected", "5432/17 10.1.0.0/16 allow", "5432/6 0.0.0.0/0 protected", "5432/6 10.1.0.0/16 allow"]);
  expect(v6.map(show).sort()).toEqual([`5432/17 ${"0.".repeat(15)}0/0 protected`, `5432/6 ${"0.".repeat(15)}0/0 protected`]);
  // The key the kernel looks up: 32 bits of (port, proto, pad) before the source prefix.
  expect(CODECS.ingressV4.encodeKey(v4[0]!).subarray(0, 4)).toEqual(new Uint8Array([32 + v4[0]!.prefixLen, 0, 0, 0]));
});

test("an allowFrom of the whole family replaces the marker (the port is open to it); no protected Service, no entries", () => {
  const s = snapshot(service("db", "  addresses: [{address: 10.0.0.5, port: 5432}]\n  inbound:\n    onlyThroughSluice: true\n    allowFrom: [0.0.0.0/0]\n"));
  expect(compileIngress(s).v4.map(show).sort()).toEqual(["5432/17 0.0.0.0/0 allow", "5432/6 0.0.0.0/0 allow"]);
  expect(compileIngress(snapshot(service("db", "  addresses: [{address: 10.0.0.5, port: 5432}]\n  inbound: {onlyThroughSluice: false}\n")))).toEqual({ v4: [], v6: [] });
});
