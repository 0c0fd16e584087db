/** gRPC framing and status encoding (PROTOCOL-HTTP2.md), and DER/PEM helpers. */
import { describe, expect, test } from "bun:test";
import { FrameDecoder, frameMessage } from "../../../src/spiffe/workload-api/grpc/framing.ts";
import { decodeGrpcMessage, encodeGrpcMessage, GrpcStatus, GrpcStatusError, statusName } from "../../../src/spiffe/workload-api/grpc/status.ts";
import { splitDerCertificates, toPem } from "../../../src/spiffe/workload-api/pem.ts";

describe("length-prefixed messages", () => {
  test("prefix: compressed flag 0, 4-byte big-endian length", () => {
    expect([...frameMessage(Uint8Array.of(7, 8, 9))]).toEqual([0, 0, 0, 0, 3, 7, 8, 9]);
    expect([...frameMessage(new Uint8Array(0))]).toEqual([0, 0, 0, 0, 0]);
  });

  test("messages split across and packed into chunks are reassembled", () => {
    const stream = new Uint8Array([...frameMessage(Uint8Array.of(1)), ...frameMessage(new Uint8Array(300).fill(2)), ...frameMessage(new Uint8Array(0))]);
    const d = new FrameDecoder(1024);
    const got: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i += 7) got.push(...d.push(stream.subarray(i, i + 7)));
    expect(got.map((m) => m.length)).toEqual([1, 300, 0]);
    expect(d.pending).toBe(0);
  });

  test("over the limit: RESOURCE_EXHAUSTED from the prefix alone", () => {
    const d = new FrameDecoder(10);
    const err = (() => {
      try {
        d.push(Uint8Array.of(0, 0, 0, 0, 11));
      } catch (e) {
        return e as GrpcStatusError;
      }
    })();
    expect(err?.status).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
  });

  test("compressed messages: UNIMPLEMENTED (identity only); a bad flag: INTERNAL", () => {
    expect(() => new FrameDecoder(10).push(Uint8Array.of(1, 0, 0, 0, 0))).toThrow("compressed messages are not supported");
    expect(() => new FrameDecoder(10).push(Uint8Array.of(2, 0, 0, 0, 0))).toThrow("invalid compressed flag");
  });
});

describe("status", () => {
  test("grpc-message is percent-encoded UTF-8 outside 0x20–0x7E, and % itself", () => {
    expect(encodeGrpcMessage("no identity: 100% sure é\n")).toBe("no identity: 100%25 sure %C3%A9%0A");
    expect(decodeGrpcMessage("no identity: 100%25 sure %C3%A9%0A")).toBe("no identity: 100% sure é\n");
    expect(decodeGrpcMessage("bad %zz escape %")).toBe("bad %zz escape %");
  });

  test("codes and names", () => {
    expect(GrpcStatus.PERMISSION_DENIED).toBe(7);
    expect(GrpcStatus.INVALID_ARGUMENT).toBe(3);
    expect(statusName(14)).toBe("UNAVAILABLE");
    expect(statusName(99)).toBe("UNKNOWN(99)");
    expect(new GrpcStatusError(7, "x").code).toBe("ERR_GRPC_PERMISSION_DENIED");
  });
});

describe("DER and PEM", () => {
  test("concatenated DER certificates are split, short and long length forms", () => {
    const short = Uint8Array.of(0x30, 0x02, 0xaa, 0xbb);
    const long = Uint8Array.from([0x30, 0x82, 0x01, 0x00, ...new Uint8Array(256).fill(1)]);
    expect(splitDerCertificates(Uint8Array.from([...short, ...long])).map((c) => c.length)).toEqual([4, 260]);
    expect(() => splitDerCertificates(Uint8Array.of(0x30, 0x05, 0x00))).toThrow("truncated");
    expect(() => splitDerCertificates(Uint8Array.of(0x04, 0x00))).toThrow("SEQUENCE");
  });

  test("PEM: 64-character lines, trailing newline", () => {
    const pem = toPem("CERTIFICATE", new Uint8Array(100).fill(0xff));
    const lines = pem.split("\n");
    expect(lines[0]).toBe("-----BEGIN CERTIFICATE-----");
    expect(lines[1]).toHaveLength(64);
    expect(pem.endsWith("-----END CERTIFICATE-----\n")).toBe(true);
  });
});
