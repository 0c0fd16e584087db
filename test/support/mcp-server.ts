/**
 * A real remote MCP server for end-to-end tests: the MCP TypeScript SDK's Streamable HTTP transport
 * behind Bun.serve over HTTPS, protected per the MCP authorization spec — RFC 9728 protected
 * resource metadata naming its own AS, 401 + `WWW-Authenticate: Bearer resource_metadata=…` without
 * a valid token. It records every Authorization header it saw, so a test can assert which token
 * reached it.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { z } from "zod";

export interface McpTestServer {
  /** The MCP endpoint, e.g. https://127.0.0.2:4443/mcp (the RFC 8707 resource). */
  readonly url: string;
  readonly resource: string;
  readonly port: number;
  /** Every Authorization header value received, in order. */
  readonly seenAuthorization: string[];
  stop(): Promise<void>;
}

export interface McpTestServerOptions {
  readonly hostname: string;
  readonly port?: number;
  readonly tls: { readonly certPem: string; readonly keyPem: string };
  /** Issuer URL of the MCP server's own authorization server. */
  readonly authorizationServer: string;
  /** Checks an access token (e.g. introspection at the upstream AS); true = accept. */
  readonly verifyToken: (token: string) => Promise<boolean>;
  readonly path?: string;
}

export function startMcpTestServer(options: McpTestServerOptions): McpTestServer {
  const path = options.path ?? "/mcp";
  const seenAuthorization: string[] = [];
  let resource = "";
  let prmUrl = "";

  const server = Bun.serve({
    hostname: options.hostname,
    port: options.port ?? 0,
    tls: { cert: options.tls.certPem, key: options.tls.keyPem },
    async fetch(request) {
      const url = new URL(request.url);
      if (url.pathname === "/.well-known/oauth-protected-resource" || url.pathname === `/.well-known/oauth-protected-resource${path}`) {
        return Response.json({ resource, authorization_servers: [options.authorizationServer], bearer_methods_supported: ["header"], scopes_supported: ["mcp"] });
      }
      if (url.pathname !== path) return new Response("not found", { status: 404 });
      const authorization = request.headers.get("authorization");
      if (authorization) seenAuthorization.push(authorization);
      const token = /^Bearer (.+)$/i.exec(authorization ?? "")?.[1];
      if (!token || !(await options.verifyToken(token))) {
        return new Response(JSON.stringify({ error: "invalid_token" }), {
          status: 401,
          headers: { "content-type": "application/json", "www-authenticate": `Bearer resource_metadata="${prmUrl}", scope="mcp"` },
        });
      }
      // Stateless: one server + transport per request (the SDK's documented stateless mode).
      const mcp = new McpServer({ name: "sluice-e2e-upstream", version: "1.0.0" }, { capabilities: { logging: {} } });
      mcp.registerTool("echo", { description: "Echoes its text", inputSchema: { text: z.string() } }, async ({ text }) => ({ content: [{ type: "text", text: `echo: ${text}` }] }));
      mcp.registerTool(
        "count",
        { description: "Sends `n` progress notifications on the response stream, then returns", inputSchema: { n: z.number().int().min(1).max(100) } },
        async ({ n }, extra) => {
          for (let i = 1; i <= n; i++) {
            await extra.sendNotification({ method: "notifications/message", params: { level: "info", data: `tick ${i}` } });
            await Bun.sleep(5);
          }
          return { content: [{ type: "text", text: `counted to ${n}` }] };
        },
      );
      const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      await mcp.connect(transport);
      return transport.handleRequest(request);
    },
  });
  const host = options.hostname.includes(":") ? `[${options.hostname}]` : options.hostname;
  resource = `https://${host}:${server.port}${path}`;
  prmUrl = `https://${host}:${server.port}/.well-known/oauth-protected-resource${path}`;
  return {
    url: resource,
    resource,
    port: server.port!,
    seenAuthorization,
    async stop() {
      await server.stop(true);
    },
  };
}
