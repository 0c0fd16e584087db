/** The DER writer and strict reader (X.690 §10) that X.509 building and validation rest on. */
import { describe, expect, test } from "bun:test";
import { DerError } from "../../../src/spiffe/index.ts";
import { readBoolean, readNamedBits, readOid, readRoot, readTime, readUnsignedInteger } from "../../../src/spiffe/der/reader.ts";
import { boolean, namedBits, oid, sequence, smallInteger, time, unsignedInteger } from "../../../src/spiffe/der/writer.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (h: string) => new Uint8Array(Buffer.from(h, "hex"));

describe("writer", () => {
  const encodings: [string, () => Uint8Array, string][] = [
    ["INTEGER 0", () => smallInteger(0), "020100"],
    ["INTEGER 128 gets a leading zero", () => smallInteger(128), "02020080"],
    ["unsigned magnitude with the top bit set", () => unsignedInteger(bytes("ff01")), "020300ff01"],
    ["leading zero bytes are stripped", () => unsignedInteger(bytes("00007f")), "02017f"],
    ["OID with a multi-byte arc (ecPublicKey)", () => oid("1.2.840.10045.2.1"), "06072a8648ce3d0201"],
    ["BOOLEAN TRUE is 0xff", () => boolean(true), "0101ff"],
    ["KeyUsage digitalSignature: trailing zero bits dropped", () => namedBits([0]), "03020780"],
    ["KeyUsage keyCertSign + cRLSign", () => namedBits([5, 6]), "03020106"],
    ["KeyUsage decipherOnly needs a second octet", () => namedBits([8]), "0303070080"],
    ["RFC 5280: 2049 is UTCTime", () => time(Date.UTC(2049, 11, 31, 23, 59, 59)), "170d3439313233313233353935395a"],
    ["RFC 5280: 2050 is GeneralizedTime", () => time(Date.UTC(2050, 0, 1)), "180f32303530303130313030303030305a"],
    ["long-form length for 200 bytes of content", () => sequence(new Uint8Array(200)), "3081c8" + "00".repeat(200)],
  ];
  for (const [name, make, expected] of encodings) test(name, () => expect(hex(make())).toBe(expected));
});

describe("reader round trips", () => {
  test("values read back as written", () => {
    expect(readOid(readRoot(oid("1.3.6.1.5.5.7.3.2")))).toBe("1.3.6.1.5.5.7.3.2");
    expect(readOid(readRoot(oid("2.999.3")))).toBe("2.999.3");
    expect(hex(readUnsignedInteger(readRoot(unsignedInteger(bytes("80")))))).toBe("80");
    expect([...readNamedBits(readRoot(namedBits([0, 2, 4])))]).toEqual([0, 2, 4]);
    expect(readTime(readRoot(time(Date.UTC(2030, 5, 15, 12))))).toBe(Date.UTC(2030, 5, 15, 12));
    expect(readTime(readRoot(time(Date.UTC(2051, 0, 1))))).toBe(Date.UTC(2051, 0, 1));
    expect(readBoolean(readRoot(boolean(false)))).toBe(false);
  });
});

describe("reader refuses what is not DER", () => {
  const bad: [string, string, (h: string) => unknown][] = [
    ["indefinite length", "3080", (h) => readRoot(bytes(h))],
    ["non-minimal long length", "30810100", (h) => readRoot(bytes(h))],
    ["length past the end", "3005020100", (h) => readRoot(bytes(h))],
    ["trailing data", "020100ff", (h) => readRoot(bytes(h))],
    ["a BOOLEAN that is neither 00 nor ff", "010101", (h) => readBoolean(readRoot(bytes(h)))],
    ["a negative INTEGER", "0201ff", (h) => readUnsignedInteger(readRoot(bytes(h)))],
    ["a non-minimal INTEGER", "02020001", (h) => readUnsignedInteger(readRoot(bytes(h)))],
    ["a BIT STRING with non-zero padding", "03020701", (h) => readNamedBits(readRoot(bytes(h)))],
    ["an invalid date (Feb 30)", "170d3330303233303030303030305a", (h) => readTime(readRoot(bytes(h)))],
    ["a time without Z", "170b333030313031303030303030", (h) => readTime(readRoot(bytes(h)))],
  ];
  for (const [name, input, read] of bad) test(name, () => expect(() => read(input)).toThrow(DerError));
});
