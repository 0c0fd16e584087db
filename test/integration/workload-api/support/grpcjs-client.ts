/**
 * A real @grpc/grpc-js Workload API client, run as its own process (under another uid via setpriv)
 * by the integration tests. Prints one JSON object per line on stdout:
 *   {"type":"hello","pid","uid","gid"} first, then per RPC result lines, then {"type":"end"} or
 *   {"type":"error","code","details"}.
 *
 * usage: grpcjs-client.ts <socket> <x509|x509-bundles|jwt-bundles|jwt|validate|wit> [--count N]
 *        [--no-header] [--audience A]... [--spiffe-id ID] [--token T]
 */
import * as grpc from "@grpc/grpc-js";
import * as loader from "@grpc/proto-loader";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { join } from "node:path";

const [socket, command, ...rest] = process.argv.slice(2);
const flags = { count: 1, header: true, audience: [] as string[], spiffeId: "", token: "" };
for (let i = 0; i < rest.length; i++) {
  const a = rest[i];
  if (a === "--count") flags.count = Number(rest[++i]);
  else if (a === "--no-header") flags.header = false;
  else if (a === "--audience") flags.audience.push(rest[++i]!);
  else if (a === "--spiffe-id") flags.spiffeId = rest[++i]!;
  else if (a === "--token") flags.token = rest[++i]!;
}

const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + "\n");
out({ type: "hello", pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });

const protoPath = join(import.meta.dir, "../../../../src/spiffe/workload-api/proto/workload.proto");
const def = loader.loadSync(protoPath, { keepCase: true, longs: String, enums: String, defaults: true });
const pkg = grpc.loadPackageDefinition(def) as any;
const client = new pkg.SpiffeWorkloadAPI(`unix://${socket}`, grpc.credentials.createInsecure());
const md = new grpc.Metadata();
if (flags.header) md.set("workload.spiffe.io", "true");

const fail = (e: grpc.ServiceError) => {
  out({ type: "error", code: e.code, codeName: grpc.status[e.code], details: e.details });
  process.exit(0);
};

function splitDer(blob: Buffer): Buffer[] {
  const certs: Buffer[] = [];
  let at = 0;
  while (at < blob.length) {
    const first = blob[at + 1]!;
    let len = first;
    let hdr = 2;
    if (first & 0x80) {
      const n = first & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + blob[at + 2 + i]!;
      hdr = 2 + n;
    }
    certs.push(blob.subarray(at, at + hdr + len));
    at += hdr + len;
  }
  return certs;
}

function stream(call: grpc.ClientReadableStream<any>, describe: (m: any) => unknown) {
  let n = 0;
  call.on("data", (m) => {
    out({ ...(describe(m) as object), at: Date.now() });
    if (++n >= flags.count) {
      call.cancel();
      out({ type: "end" });
      process.exit(0);
    }
  });
  call.on("error", (e: grpc.ServiceError) => fail(e));
  call.on("end", () => {
    out({ type: "end" });
    process.exit(0);
  });
}

switch (command) {
  case "x509":
    stream(client.FetchX509SVID({}, md), (m) => {
      const s = m.svids[0];
      const chain = splitDer(s.x509_svid);
      const leaf = new X509Certificate(chain[0]!);
      const bundle = splitDer(s.bundle).map((d) => new X509Certificate(d));
      return {
        type: "x509",
        svids: m.svids.length,
        spiffeId: s.spiffe_id,
        uriSans: (leaf.subjectAltName ?? "").split(", ").filter((x) => x.startsWith("URI:")).map((x) => x.slice(4)),
        serial: leaf.serialNumber,
        notAfter: Date.parse(leaf.validTo),
        ca: leaf.ca,
        keyMatches: leaf.checkPrivateKey(createPrivateKey({ key: s.x509_svid_key, format: "der", type: "pkcs8" })),
        bundleCount: bundle.length,
        signedByBundle: bundle.some((b) => leaf.verify(b.publicKey)),
        federated: Object.keys(m.federated_bundles).sort(),
      };
    });
    break;
  case "x509-bundles":
    stream(client.FetchX509Bundles({}, md), (m) => ({
      type: "x509-bundles",
      bundles: Object.fromEntries(Object.entries(m.bundles as Record<string, Buffer>).map(([k, v]) => [k, splitDer(v).length])),
    }));
    break;
  case "jwt-bundles":
    stream(client.FetchJWTBundles({}, md), (m) => ({
      type: "jwt-bundles",
      bundles: Object.fromEntries(Object.entries(m.bundles as Record<string, Buffer>).map(([k, v]) => [k, JSON.parse(v.toString("utf8"))])),
    }));
    break;
  case "wit":
    stream(client.FetchWITSVID({}, md), (m) => ({ type: "wit", m }));
    break;
  case "jwt":
    client.FetchJWTSVID({ audience: flags.audience, spiffe_id: flags.spiffeId }, md, (e: grpc.ServiceError | null, r: any) => {
      if (e) return fail(e);
      out({ type: "jwt", svids: r.svids.map((s: any) => ({ spiffeId: s.spiffe_id, svid: s.svid, hint: s.hint })) });
      process.exit(0);
    });
    break;
  case "validate":
    client.ValidateJWTSVID({ audience: flags.audience[0] ?? "", svid: flags.token }, md, (e: grpc.ServiceError | null, r: any) => {
      if (e) return fail(e);
      out({ type: "validate", spiffeId: r.spiffe_id, claims: r.claims });
      process.exit(0);
    });
    break;
  default:
    out({ type: "usage", command });
    process.exit(2);
}
