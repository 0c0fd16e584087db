/**
 * The mTLS listener (`config.oauth.mtlsListen`, RFC 8705 `mtls_endpoint_aliases`) for X.509-SVID
 * client authentication. Bun.serve/Elysia cannot see client certificates, so this is node:tls with
 * `requestCert: true, rejectUnauthorized: false` and node:http on top; each request goes to the
 * same Elysia app through `app.handle(new Request(…))`, its CallerContext (the presented chain and
 * socket address) attached in a WeakMap keyed by that Request (see caller-context.ts: a client
 * cannot forge an entry there, unlike a header).
 *
 * The chain is passed on unverified and labelled as "presented": OpenSSL accepted any certificate
 * (rejectUnauthorized false, because the SPIFFE bundle, not a CA file, decides), so every consumer
 * verifies it with `verifyX509Svid` before trusting it (authenticate.ts, registration.ts).
 *
 * Server certificate: `config.tls` when set — draft-ietf-oauth-spiffe-client-auth §3.2 says the
 * client validates the server with its system trust store, which an operator certificate serves.
 * Otherwise an X.509-SVID for sluice itself (`spiffe://<td>/sluice/oauth`) from the CA, renewed at
 * half its lifetime: SPIFFE clients of this trust domain can verify it with the bundle.
 */
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createSecureContext, createServer as createTlsServer, type DetailedPeerCertificate, type TLSSocket } from "node:tls";
import { parseHostPort } from "../../config/index.ts";
import type { Logger } from "../../log/index.ts";
import { HTTP_LIMITS } from "../../server/http.ts";
import type { TrustDomainCA } from "../../spiffe/index.ts";
import { MAX_CHAIN_LENGTH } from "../../spiffe/index.ts";
import { attachCallerContext } from "./caller-context.ts";

export interface MtlsListenerOptions {
  /** `host:port` (port 0 for an ephemeral one). */
  readonly listen: string;
  readonly app: { handle(request: Request): Promise<Response> | Response };
  readonly ca: Pick<TrustDomainCA, "issueX509Svid" | "trustDomain">;
  /** `config.tls`; when both files are set they are used instead of an SVID. */
  readonly tls?: { readonly certFile: string | null; readonly keyFile: string | null };
  readonly logger: Logger;
}

export interface MtlsListener {
  readonly host: string;
  readonly port: number;
  /** `https://host:port` */
  readonly url: string;
  /** The server's SPIFFE ID when it serves an SVID. */
  readonly serverSpiffeId?: string;
  close(): Promise<void>;
}

const SVID_TTL_SECONDS = 24 * 3600;

export async function startMtlsListener(options: MtlsListenerOptions): Promise<MtlsListener> {
  const logger = options.logger.child({ component: "oauth-mtls" });
  const { host, port } = parseHostPort(options.listen, "oauth.mtlsListen");
  const useOperatorCert = Boolean(options.tls?.certFile && options.tls?.keyFile);
  const serverSpiffeId = `spiffe://${options.ca.trustDomain}/sluice/oauth`;
  const credentials = (): { cert: string | Buffer; key: string | Buffer; expiresAt?: number } => {
    if (useOperatorCert) return { cert: readFileSync(options.tls!.certFile!), key: readFileSync(options.tls!.keyFile!) };
    const svid = options.ca.issueX509Svid({ spiffeId: serverSpiffeId, ttlSeconds: SVID_TTL_SECONDS });
    return { cert: svid.certChain.map((d) => pem("CERTIFICATE", d)).join(""), key: pem("PRIVATE KEY", svid.privateKey!), expiresAt: svid.expiresAt };
  };

  const first = credentials();
  const http = createHttpServer({ maxHeaderSize: 16 * 1024, requestTimeout: HTTP_LIMITS.idleTimeoutSeconds * 1000 }, (req, res) => void serve(req, res));
  const tls = createTlsServer({ cert: first.cert, key: first.key, requestCert: true, rejectUnauthorized: false, minVersion: "TLSv1.2" }, (socket) => {
    http.emit("connection", socket);
  });
  tls.on("tlsClientError", (error) => logger.debug("mTLS handshake failed", { error: error.message }));

  let renewal: ReturnType<typeof setTimeout> | undefined;
  const scheduleRenewal = (expiresAt: number | undefined) => {
    if (expiresAt === undefined) return;
    renewal = setTimeout(() => {
      try {
        const next = credentials();
        tls.setSecureContext({ cert: next.cert, key: next.key });
        scheduleRenewal(next.expiresAt);
      } catch (error) {
        logger.error("renewing the mTLS listener's SVID failed; retrying in a minute", { error });
        scheduleRenewal(Date.now() + 120_000);
      }
    }, Math.max(60_000, (expiresAt - Date.now()) / 2));
    renewal.unref?.();
  };
  scheduleRenewal(first.expiresAt);

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const socket = req.socket as TLSSocket;
      const body = await readBody(req);
      if (body === "too-large") return reply(res, 413, { error: "invalid_request", error_description: `the body is larger than ${HTTP_LIMITS.maxRequestBodyBytes} bytes` });
      const headers = new Headers();
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
      let url: URL;
      try {
        url = new URL(req.url ?? "/", `https://${req.headers.host ?? `${host}:${listener.port}`}`);
      } catch {
        return reply(res, 400, { error: "invalid_request", error_description: "bad request target or Host header" });
      }
      const method = req.method ?? "GET";
      const request = new Request(url.href, { method, headers, ...(method === "GET" || method === "HEAD" ? {} : { body: new Uint8Array(body) }) });
      const peerCertificates = presentedChain(socket);
      attachCallerContext(request, {
        ...(socket.remoteAddress ? { remoteAddress: socket.remoteAddress } : {}),
        ...(socket.remotePort ? { remotePort: socket.remotePort } : {}),
        ...(peerCertificates.length > 0 ? { peerCertificates } : {}),
      });
      const response = await options.app.handle(request);
      const out: Record<string, string | string[]> = {};
      response.headers.forEach((value, name) => (out[name] = value));
      // Headers.forEach hands out each Set-Cookie separately: keep them all, not only the last.
      const cookies = response.headers.getSetCookie();
      if (cookies.length > 0) out["set-cookie"] = cookies;
      const payload = Buffer.from(await response.arrayBuffer());
      res.writeHead(response.status, { ...out, "content-length": String(payload.length) });
      res.end(payload);
    } catch (error) {
      logger.error("mTLS request failed", { error });
      if (!res.headersSent) reply(res, 500, { error: "server_error", error_description: "internal error; see the sluice log" });
      else res.destroy();
    }
  }

  await new Promise<void>((resolve, reject) => {
    tls.once("error", reject);
    tls.listen(port, host, () => {
      tls.off("error", reject);
      resolve();
    });
  });
  const address = tls.address();
  const boundPort = typeof address === "object" && address ? address.port : port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const listener: MtlsListener = {
    host,
    port: boundPort,
    url: `https://${urlHost}:${boundPort}`,
    ...(useOperatorCert ? {} : { serverSpiffeId }),
    close: () =>
      new Promise<void>((resolve) => {
        if (renewal) clearTimeout(renewal);
        http.closeAllConnections?.();
        tls.close(() => resolve());
      }),
  };
  logger.info("mTLS listener started", { url: listener.url, certificate: useOperatorCert ? "config.tls" : serverSpiffeId });
  return listener;
}

/** The chain the client sent, leaf first, as DER; the self-signed end (a root) is left out. */
function presentedChain(socket: TLSSocket): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let cert = socket.getPeerCertificate(true) as DetailedPeerCertificate | undefined;
  while (cert && cert.raw && chain.length < MAX_CHAIN_LENGTH + 1) {
    const issuer = cert.issuerCertificate;
    const selfSigned = !issuer || issuer === cert || issuer.fingerprint256 === cert.fingerprint256;
    if (selfSigned && chain.length > 0) break;
    chain.push(new Uint8Array(cert.raw));
    if (selfSigned) break;
    cert = issuer;
  }
  return chain;
}

async function readBody(req: IncomingMessage): Promise<Buffer | "too-large"> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > HTTP_LIMITS.maxRequestBodyBytes) return "too-large";
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)), connection: "close" });
  res.end(text);
}

function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
