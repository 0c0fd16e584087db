/**
 * The client side of `sluice svid x509|jwt`: the calling process asks the Workload API for its
 * own SVID, like `spire-agent api fetch`. The socket is a path or a `unix:` URI (see endpoint.ts
 * for choosing it).
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { SluiceError } from "../../errors/index.ts";
import { parseEndpoint } from "./endpoint.ts";
import { grpcCall } from "./grpc/client.ts";
import { GrpcStatus, GrpcStatusError } from "./grpc/status.ts";
import { certificatesToPem, splitDerCertificates, toPem } from "./pem.ts";
import { decodeJwtSvidResponse, decodeX509SvidResponse, encodeEmpty, encodeJwtSvidRequest } from "./proto/messages.ts";
import { SECURITY_HEADER, SERVICE_NAME } from "./service/index.ts";

export interface X509SvidResult {
  spiffeId: string;
  /** Leaf first, then any intermediates. */
  certChainPem: string;
  /** PKCS#8 ("BEGIN PRIVATE KEY"). */
  keyPem: string;
  /** The authorities of the SVID's own trust domain. */
  bundlePem: string;
  /** Leaf notAfter, ms since the epoch. */
  expiresAt: number;
  hint: string;
  /** Trust domain SPIFFE ID → PEM authorities of federated trust domains. */
  federatedBundlesPem: Record<string, string>;
}

export interface JwtSvidResult {
  spiffeId: string;
  token: string;
  hint: string;
  /** From the token's `exp` (not verified here), ms since the epoch. */
  expiresAt?: number;
}

export interface FetchOptions {
  timeoutMs?: number;
}

/** A response that breaks the spec (§4.5: a client SHOULD report an error and discard it). */
export class WorkloadApiResponseError extends SluiceError {
  constructor(message: string) {
    super("ERR_WORKLOAD_API_RESPONSE", message);
  }
}

const metadata = { [SECURITY_HEADER]: "true" };

/** The default (first, Workload API §8) X.509-SVID of the calling process. */
export async function fetchX509Svid(socket: string, options: FetchOptions = {}): Promise<X509SvidResult> {
  const path = socketPath(socket);
  let messages: Uint8Array[];
  try {
    messages = await grpcCall(path, `/${SERVICE_NAME}/FetchX509SVID`, encodeEmpty(), { timeoutMs: options.timeoutMs, metadata, stopAfter: 1 });
  } catch (err) {
    throw explain(err, "X.509-SVID");
  }
  if (messages.length === 0) throw new WorkloadApiResponseError("the Workload API ended the X.509-SVID stream without sending an SVID");
  const response = decodeX509SvidResponse(messages[0]!);
  const svid = response.svids[0];
  if (!svid) throw new WorkloadApiResponseError("the Workload API sent an X509SVIDResponse with no SVIDs");
  if (!svid.spiffeId || svid.x509Svid.length === 0 || svid.x509SvidKey.length === 0 || svid.bundle.length === 0) {
    throw new WorkloadApiResponseError("the Workload API sent an X509SVID with a mandatory field empty");
  }

  let chain: Uint8Array[];
  let bundle: Uint8Array[];
  try {
    chain = splitDerCertificates(svid.x509Svid);
    bundle = splitDerCertificates(svid.bundle);
  } catch (err) {
    throw new WorkloadApiResponseError(`the Workload API sent malformed certificates: ${(err as Error).message}`);
  }
  const leaf = new X509Certificate(chain[0]!);
  const sans = (leaf.subjectAltName ?? "").split(", ").filter((s) => s.startsWith("URI:"));
  if (sans.length !== 1 || sans[0] !== `URI:${svid.spiffeId}`) {
    throw new WorkloadApiResponseError(`the X.509-SVID's URI SAN (${sans.join(", ") || "none"}) does not match its spiffe_id ${svid.spiffeId}`);
  }
  const key = createPrivateKey({ key: Buffer.from(svid.x509SvidKey), format: "der", type: "pkcs8" });
  if (!leaf.checkPrivateKey(key)) throw new WorkloadApiResponseError("the X.509-SVID's private key does not match its certificate");

  const federatedBundlesPem: Record<string, string> = {};
  for (const [td, blob] of response.federatedBundles) federatedBundlesPem[td] = certificatesToPem(splitDerCertificates(blob));
  return {
    spiffeId: svid.spiffeId,
    certChainPem: certificatesToPem(chain),
    keyPem: toPem("PRIVATE KEY", svid.x509SvidKey),
    bundlePem: certificatesToPem(bundle),
    expiresAt: Date.parse(leaf.validTo),
    hint: svid.hint,
    federatedBundlesPem,
  };
}

/** A JWT-SVID for `audience` (one or more values). `spiffeId` asks for that identity only. */
export async function fetchJwtSvid(socket: string, audience: string | string[], options: FetchOptions & { spiffeId?: string } = {}): Promise<JwtSvidResult> {
  const path = socketPath(socket);
  const audiences = typeof audience === "string" ? [audience] : audience;
  if (audiences.length === 0 || audiences.some((a) => a === "")) throw new TypeError("fetchJwtSvid: at least one non-empty audience is required");
  let messages: Uint8Array[];
  try {
    messages = await grpcCall(path, `/${SERVICE_NAME}/FetchJWTSVID`, encodeJwtSvidRequest({ audience: audiences, spiffeId: options.spiffeId ?? "" }), { timeoutMs: options.timeoutMs, metadata });
  } catch (err) {
    throw explain(err, "JWT-SVID");
  }
  if (messages.length !== 1) throw new WorkloadApiResponseError(`the Workload API sent ${messages.length} messages for a unary call`);
  const svid = decodeJwtSvidResponse(messages[0]!).svids[0];
  if (!svid || !svid.spiffeId || !svid.svid) throw new WorkloadApiResponseError("the Workload API sent a JWTSVIDResponse without a complete JWT-SVID");
  const result: JwtSvidResult = { spiffeId: svid.spiffeId, token: svid.svid, hint: svid.hint };
  const exp = unverifiedExp(svid.svid);
  if (exp !== undefined) result.expiresAt = exp * 1000;
  return result;
}

/**
 * Writes `svid.0.pem` (chain), `svid.0.key` (0600) and `bundle.0.pem` into `dir`, like
 * `spire-agent api fetch x509 -write`. Each file is replaced atomically (temp file + rename), so a
 * reader never sees half a key and an old key file's mode never carries over. Returns the paths.
 */
export function writeX509Files(dir: string, result: X509SvidResult): string[] {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const files: [string, string, number][] = [
    ["svid.0.pem", result.certChainPem, 0o644],
    ["svid.0.key", result.keyPem, 0o600],
    ["bundle.0.pem", result.bundlePem, 0o644],
  ];
  return files.map(([name, content, mode]) => {
    const target = join(dir, name);
    writeAtomic(target, content, mode);
    return target;
  });
}

function writeAtomic(target: string, content: string, mode: number): void {
  const tmp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fd = openSync(tmp, "wx", mode);
  try {
    fchmodSync(fd, mode); // the open() mode is filtered by the umask
    writeSync(fd, content);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, target);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
}

function socketPath(socket: string): string {
  return parseEndpoint(socket, "the Workload API socket", true);
}

/** Status codes reworded for the person at the terminal (SPIFFE Workload Endpoint Appendix A). */
function explain(err: unknown, what: string): unknown {
  if (!(err instanceof GrpcStatusError)) return err;
  const who = `pid ${process.pid}, uid ${process.getuid?.() ?? "?"}`;
  switch (err.status) {
    case GrpcStatus.PERMISSION_DENIED:
      return new GrpcStatusError(err.status, `no ${what} for this process: it matches no WorkloadIdentity (${who}; server said: ${err.message})`, { cause: err });
    case GrpcStatus.INVALID_ARGUMENT:
      return new GrpcStatusError(err.status, `the Workload API rejected the request: ${err.message}`, { cause: err });
    case GrpcStatus.UNAVAILABLE:
      return new GrpcStatusError(err.status, `the Workload API is unavailable: ${err.message}`, { cause: err });
    case GrpcStatus.UNIMPLEMENTED:
      return new GrpcStatusError(err.status, `the server does not implement this Workload API call: ${err.message}`, { cause: err });
    default:
      return err;
  }
}

function unverifiedExp(token: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as { exp?: unknown };
    return typeof payload.exp === "number" ? payload.exp : undefined;
  } catch {
    return undefined;
  }
}
