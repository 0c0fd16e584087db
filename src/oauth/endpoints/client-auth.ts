/** Rate limit by address, read the form, authenticate the client, rate limit by client. */
import { readForm } from "../http/form.ts";
import { rateLimited } from "../rate-limit.ts";
import type { AuthenticatedClient, CallerContext } from "../types.ts";
import type { EndpointDeps } from "./context.ts";

export async function authenticatedForm(
  request: Request,
  caller: CallerContext,
  endpoint: string,
  deps: EndpointDeps,
): Promise<{ params: URLSearchParams; auth: AuthenticatedClient }> {
  const byAddress = deps.limits.perAddress.take(`addr:${caller.remoteAddress ?? "unknown"}`);
  if (!byAddress.ok) throw rateLimited(byAddress.retryAfterSeconds);
  const params = await readForm(request);
  const auth = await deps.clients.authenticate({ params, headers: request.headers, caller, endpoint });
  const byClient = deps.limits.perClient.take(`client:${auth.client.clientId}`);
  if (!byClient.ok) throw rateLimited(byClient.retryAfterSeconds, `requests from client ${auth.client.clientId}`);
  return { params, auth };
}
