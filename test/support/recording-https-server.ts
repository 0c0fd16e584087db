/**
 * A plain HTTPS API for tests (Bun.serve on a loopback address with a test-CA leaf) that records
 * the method, path and headers of every request and answers `200 ok` — never echoing a header
 * back, so a client cannot learn what was injected into its request.
 */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
}

export interface RecordingHttpsServer {
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  stop(): Promise<void>;
}

export function startRecordingHttpsServer(o: { hostname: string; port?: number; tls: { certPem: string; keyPem: string } }): RecordingHttpsServer {
  const requests: RecordedRequest[] = [];
  const server = Bun.serve({
    hostname: o.hostname,
    port: o.port ?? 0,
    tls: { cert: o.tls.certPem, key: o.tls.keyPem },
    fetch(request) {
      const url = new URL(request.url);
      requests.push({ method: request.method, path: url.pathname, headers: Object.fromEntries(request.headers) });
      return new Response("ok\n");
    },
  });
  return {
    url: `https://${o.hostname}:${server.port}`,
    port: server.port!,
    requests,
    async stop() {
      await server.stop(true);
    },
  };
}
