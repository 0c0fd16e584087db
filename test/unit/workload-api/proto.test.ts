/**
 * The hand-written protobuf codec against protobufjs (through @grpc/proto-loader and the
 * spec's workload.proto): each direction, every Workload API message, and malformed input.
 */
import { describe, expect, test } from "bun:test";
import * as loader from "@grpc/proto-loader";
import { join } from "node:path";
import {
  decodeEmpty,
  decodeJwtBundlesResponse,
  decodeJwtSvidRequest,
  decodeJwtSvidResponse,
  decodeValidateJwtSvidRequest,
  decodeValidateJwtSvidResponse,
  decodeX509BundlesResponse,
  decodeX509SvidResponse,
  encodeJwtBundlesResponse,
  encodeJwtSvidRequest,
  encodeJwtSvidResponse,
  encodeValidateJwtSvidRequest,
  encodeValidateJwtSvidResponse,
  encodeX509BundlesResponse,
  encodeX509SvidResponse,
} from "../../../src/spiffe/workload-api/proto/messages.ts";
import { ProtoDecodeError, ProtoWriter, readFields } from "../../../src/spiffe/workload-api/proto/wire.ts";

const def = loader.loadSync(join(import.meta.dir, "../../../src/spiffe/workload-api/proto/workload.proto"), { keepCase: true, longs: String, defaults: true });
const svc = def.SpiffeWorkloadAPI as unknown as Record<string, { requestSerialize(v: unknown): Buffer; requestDeserialize(b: Buffer): any; responseSerialize(v: unknown): Buffer; responseDeserialize(b: Buffer): any }>;
const rpc = (name: string) => svc[name]!;
const b = (s: string) => new Uint8Array(Buffer.from(s));

describe("encode here → decode with protobufjs", () => {
  test("X509SVIDResponse with svids, crl and federated bundles", () => {
    const bytes = encodeX509SvidResponse({
      svids: [
        { spiffeId: "spiffe://example.org/a", x509Svid: b("leaf+int"), x509SvidKey: b("pkcs8"), bundle: b("roots"), hint: "internal" },
        { spiffeId: "spiffe://example.org/b", x509Svid: b("leaf2"), x509SvidKey: b("k2"), bundle: b("roots"), hint: "" },
      ],
      crl: [b("crl1")],
      federatedBundles: new Map([["spiffe://partner.test", b("p-roots")], ["spiffe://other.test", b("o")]]),
    });
    const m = rpc("FetchX509SVID").responseDeserialize(Buffer.from(bytes));
    expect(m.svids).toHaveLength(2);
    expect(m.svids[0].spiffe_id).toBe("spiffe://example.org/a");
    expect(m.svids[0].x509_svid.toString()).toBe("leaf+int");
    expect(m.svids[0].x509_svid_key.toString()).toBe("pkcs8");
    expect(m.svids[0].bundle.toString()).toBe("roots");
    expect(m.svids[0].hint).toBe("internal");
    expect(m.crl[0].toString()).toBe("crl1");
    expect(Object.keys(m.federated_bundles).sort()).toEqual(["spiffe://other.test", "spiffe://partner.test"]);
    expect(m.federated_bundles["spiffe://partner.test"].toString()).toBe("p-roots");
  });

  test("X509BundlesResponse, JWTBundlesResponse, JWTSVIDResponse", () => {
    const x = rpc("FetchX509Bundles").responseDeserialize(Buffer.from(encodeX509BundlesResponse({ crl: [], bundles: new Map([["spiffe://example.org", b("r")]]) })));
    expect(x.bundles["spiffe://example.org"].toString()).toBe("r");
    const j = rpc("FetchJWTBundles").responseDeserialize(Buffer.from(encodeJwtBundlesResponse({ bundles: new Map([["spiffe://example.org", b('{"keys":[]}')]]) })));
    expect(j.bundles["spiffe://example.org"].toString()).toBe('{"keys":[]}');
    const s = rpc("FetchJWTSVID").responseDeserialize(Buffer.from(encodeJwtSvidResponse({ svids: [{ spiffeId: "spiffe://example.org/a", svid: "h.p.s", hint: "" }] })));
    expect(s.svids).toEqual([{ spiffe_id: "spiffe://example.org/a", svid: "h.p.s", hint: "" }]);
  });

  test("ValidateJWTSVIDResponse: claims as google.protobuf.Struct (strings, numbers, bools, null, lists, objects)", () => {
    const claims = { sub: "spiffe://example.org/a", aud: ["x", "y"], exp: 1700000000, nbf: 1.5, admin: false, x: null, nested: { deep: [1, { k: "v" }] }, "ünï": "cödé" };
    const m = rpc("ValidateJWTSVID").responseDeserialize(Buffer.from(encodeValidateJwtSvidResponse({ spiffeId: "spiffe://example.org/a", claims })));
    expect(m.spiffe_id).toBe("spiffe://example.org/a");
    const f = m.claims.fields;
    expect(f.sub.stringValue).toBe("spiffe://example.org/a");
    expect(f.aud.listValue.values.map((v: any) => v.stringValue)).toEqual(["x", "y"]);
    expect(f.exp.numberValue).toBe(1700000000);
    expect(f.nbf.numberValue).toBe(1.5);
    expect(f.admin.boolValue).toBe(false);
    expect(f.x.nullValue).toBe(0);
    expect(Object.keys(f.x)).toEqual(["nullValue"]);
    expect(f.nested.structValue.fields.deep.listValue.values[1].structValue.fields.k.stringValue).toBe("v");
    expect(f["ünï"].stringValue).toBe("cödé");
  });

  test("requests: JWTSVIDRequest, ValidateJWTSVIDRequest", () => {
    expect(rpc("FetchJWTSVID").requestDeserialize(Buffer.from(encodeJwtSvidRequest({ audience: ["a", "b"], spiffeId: "spiffe://e/x" })))).toEqual({ audience: ["a", "b"], spiffe_id: "spiffe://e/x" });
    expect(rpc("ValidateJWTSVID").requestDeserialize(Buffer.from(encodeValidateJwtSvidRequest({ audience: "a", svid: "t" })))).toEqual({ audience: "a", svid: "t" });
  });
});

describe("encode with protobufjs → decode here", () => {
  test("every request the server decodes", () => {
    expect(decodeJwtSvidRequest(rpc("FetchJWTSVID").requestSerialize({ audience: ["a", "ü"], spiffe_id: "spiffe://e/x" }))).toEqual({ audience: ["a", "ü"], spiffeId: "spiffe://e/x" });
    expect(decodeJwtSvidRequest(rpc("FetchJWTSVID").requestSerialize({}))).toEqual({ audience: [], spiffeId: "" });
    expect(decodeValidateJwtSvidRequest(rpc("ValidateJWTSVID").requestSerialize({ audience: "a", svid: "t" }))).toEqual({ audience: "a", svid: "t" });
    expect(decodeEmpty(rpc("FetchX509SVID").requestSerialize({}))).toEqual({});
  });

  test("every response the client decodes", () => {
    const x = decodeX509SvidResponse(
      rpc("FetchX509SVID").responseSerialize({
        svids: [{ spiffe_id: "spiffe://e/a", x509_svid: Buffer.from("c"), x509_svid_key: Buffer.from("k"), bundle: Buffer.from("r"), hint: "h" }],
        federated_bundles: { "spiffe://p": Buffer.from("p") },
      }),
    );
    expect(x.svids[0]).toEqual({ spiffeId: "spiffe://e/a", x509Svid: b("c"), x509SvidKey: b("k"), bundle: b("r"), hint: "h" });
    expect([...x.federatedBundles]).toEqual([["spiffe://p", b("p")]]);
    expect([...decodeX509BundlesResponse(rpc("FetchX509Bundles").responseSerialize({ bundles: { "spiffe://e": Buffer.from("r") } })).bundles]).toEqual([["spiffe://e", b("r")]]);
    expect([...decodeJwtBundlesResponse(rpc("FetchJWTBundles").responseSerialize({ bundles: { "spiffe://e": Buffer.from("{}") } })).bundles]).toEqual([["spiffe://e", b("{}")]]);
    expect(decodeJwtSvidResponse(rpc("FetchJWTSVID").responseSerialize({ svids: [{ spiffe_id: "spiffe://e/a", svid: "t" }] })).svids).toEqual([{ spiffeId: "spiffe://e/a", svid: "t", hint: "" }]);
    const v = decodeValidateJwtSvidResponse(
      rpc("ValidateJWTSVID").responseSerialize({
        spiffe_id: "spiffe://e/a",
        claims: { fields: { exp: { numberValue: 5 }, aud: { listValue: { values: [{ stringValue: "a" }] } }, ok: { boolValue: true }, n: { nullValue: 0 }, o: { structValue: { fields: { k: { stringValue: "v" } } } } } },
      }),
    );
    expect(v).toEqual({ spiffeId: "spiffe://e/a", claims: { exp: 5, aud: ["a"], ok: true, n: null, o: { k: "v" } } });
  });
});

describe("malformed bytes are ProtoDecodeError, unknown fields are skipped", () => {
  test.each([
    ["truncated varint", [0x08, 0x80]],
    ["length beyond the buffer", [0x0a, 0x05, 0x61]],
    ["group wire type", [0x0b]],
    ["field number 0", [0x02, 0x00]],
    ["11-byte varint", [0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  ])("%s", (_, bytes) => {
    expect(() => decodeJwtSvidRequest(Uint8Array.from(bytes))).toThrow(ProtoDecodeError);
  });

  test("invalid UTF-8 in a string field", () => {
    expect(() => decodeValidateJwtSvidRequest(Uint8Array.of(0x0a, 0x02, 0xc3, 0x28))).toThrow("not valid UTF-8");
  });

  test("a string field sent as a varint is a type error, not a crash", () => {
    expect(() => decodeValidateJwtSvidRequest(Uint8Array.of(0x08, 0x01))).toThrow(ProtoDecodeError);
  });

  test("unknown fields of every wire type are skipped (proto3)", () => {
    const extra = [0x48, 0x01, 0x51, 1, 2, 3, 4, 5, 6, 7, 8, 0x5d, 1, 2, 3, 4, 0x62, 0x01, 0x7a];
    expect(decodeValidateJwtSvidRequest(Uint8Array.from([...extra, 0x0a, 0x01, 0x61]))).toEqual({ audience: "a", svid: "" });
    expect([...readFields(Uint8Array.from(extra))].map((f) => f.field)).toEqual([9, 10, 11, 12]);
  });

  test("deeply nested Struct is refused, both ways", () => {
    let nested: unknown = null;
    for (let i = 0; i < 40; i++) nested = [nested];
    expect(() => encodeValidateJwtSvidResponse({ spiffeId: "x", claims: { nested } })).toThrow("nested too deeply");

    // Value{list_value{values: Value{…}}} 40 deep, written without the encoder's depth check
    const nest = (w: ProtoWriter, depth: number): void => {
      if (depth === 0) w.uint(1, 0);
      else w.message(6, (list) => list.message(1, (v) => nest(v, depth - 1)));
    };
    const bytes = new ProtoWriter().string(1, "x").message(2, (s) => s.message(1, (e) => e.string(1, "k").message(2, (v) => nest(v, 40)))).finish();
    expect(() => decodeValidateJwtSvidResponse(bytes)).toThrow("nested too deeply");
  });
});
