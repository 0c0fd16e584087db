/** `GET /.well-known/spiffe-bundle`: this trust domain's bundle for federation peers (Trust Domain and Bundle §4). */
import type { RouteModule } from "../../server/http.ts";
import { bundleToJson } from "./json.ts";
import type { TrustBundle } from "./types.ts";

export const BUNDLE_PATH = "/.well-known/spiffe-bundle";

export function bundleRoutes(source: { bundle(): TrustBundle }): RouteModule {
  let cached: { bundle: TrustBundle; body: string } | undefined;
  return {
    name: "spiffe-bundle",
    mount(app) {
      app.get(BUNDLE_PATH, () => {
        const bundle = source.bundle();
        if (cached?.bundle !== bundle) cached = { bundle, body: bundleToJson(bundle) };
        // Caches may keep it no longer than consumers are told to wait before checking again.
        const maxAge = Math.min(bundle.refreshHint ?? 300, 300);
        return new Response(cached.body, { headers: { "content-type": "application/json", "cache-control": `public, max-age=${maxAge}` } });
      });
    },
  };
}
