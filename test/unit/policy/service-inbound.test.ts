/**
 * Service.spec.inbound (kernel XDP ingress for protected local ports): what a valid one compiles
 * to, and every mistake pinned to its file:line:col.
 */
import { describe, expect, test } from "bun:test";
import { build, formatted, svc } from "./helpers.ts";

const ADDR = "  addresses: [{address: 10.0.0.5, port: 5432}]\n";

describe("Service inbound", () => {
  test("onlyThroughSluice with allowFrom compiles to canonical CIDRs on the snapshot's Service", () => {
    const r = build({ "a.yaml": svc(`${ADDR}  inbound:\n    onlyThroughSluice: true\n    allowFrom: [10.1.0.0/16, "2001:db8::/32", 192.0.2.7]\n`) });
    expect(r.diagnostics).toEqual([]);
    expect(r.snapshot!.service("api")!.inbound).toEqual({ onlyThroughSluice: true, allowFrom: ["10.1.0.0/16", "2001:db8::/32", "192.0.2.7/32"] });
  });

  test("allowFrom defaults to nothing; a Service without inbound has none", () => {
    const r = build({ "a.yaml": svc(`${ADDR}  inbound: {onlyThroughSluice: true}\n`), "b.yaml": svc(ADDR, "other") });
    expect(r.snapshot!.service("api")!.inbound).toEqual({ onlyThroughSluice: true, allowFrom: [] });
    expect(r.snapshot!.service("other")!.inbound).toBeUndefined();
  });

  test("mistakes are positioned", () => {
    expect(formatted({ "a.yaml": svc(`${ADDR}  inbound: {allowFrom: [10.0.0.0/8]}\n`) })).toEqual(["a.yaml:6:12: error: missing required field `onlyThroughSluice` in inbound"]);
    expect(formatted({ "a.yaml": svc(`${ADDR}  inbound:\n    onlyThroughSluice: true\n    allowFrom: [10.0.0.1/8]\n`) })[0]).toStartWith("a.yaml:8:17: error: ");
    expect(formatted({ "a.yaml": svc(`${ADDR}  inbound:\n    onlyThroughSluice: yes please\n`) })[0]).toStartWith("a.yaml:7:24: error: ");
    expect(formatted({ "a.yaml": svc(`${ADDR}  inbound:\n    onlyThroughSluice: true\n    alowFrom: []\n`) })[0]).toStartWith("a.yaml:8:5: error: unknown field `alowFrom` in inbound");
  });

  test("allowFrom without onlyThroughSluice: true is a warning (it does nothing)", () => {
    expect(formatted({ "a.yaml": svc(`${ADDR}  inbound:\n    onlyThroughSluice: false\n    allowFrom: [10.0.0.0/8]\n`) })).toEqual([
      "a.yaml:8:5: warning: allowFrom only matters with `onlyThroughSluice: true`",
    ]);
  });
});
