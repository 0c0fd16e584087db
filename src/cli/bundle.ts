import { X509Certificate } from "node:crypto";
import { loadConfig } from "../config/index.ts";
import { SluiceError, UsageError } from "../errors/index.ts";
import { bundleToJson, readPublishedBundle, type TrustBundle } from "../spiffe/index.ts";
import { openStore } from "../store/index.ts";
import { EXIT, type Command } from "./command.ts";
import { configFlag } from "./config-flag.ts";

const showCommand: Command = {
  name: "show",
  summary: "Print this trust domain's SPIFFE bundle",
  usage: "sluice bundle show [--format spiffe|pem|text]",
  description: `Prints the trust bundle that sluice serve publishes (also at /.well-known/spiffe-bundle):
the X.509 authorities and JWT signing keys of this trust domain, including a rotating key's
successor during the overlap. Reads the store read-only (works while sluice serve runs) and never
touches private keys.

Formats: text (default: one line per authority), spiffe (the SPIFFE bundle JSON, for federation
peers), pem (the X.509 authorities, for tools that want a CA file).`,
  flags: [{ name: "format", short: "f", kind: "string", placeholder: "FORMAT", help: "text | spiffe | pem", default: "text" }],
  async run(ctx) {
    const format = String(ctx.flags.format);
    if (!["text", "spiffe", "pem"].includes(format)) throw new UsageError(`--format takes text, spiffe or pem, got "${format}"`);
    const { config } = loadConfig({ file: configFlag(ctx.flags), env: ctx.env });
    const store = await openStore({ dataDir: config.dataDir, readOnly: true });
    let bundle: TrustBundle | undefined;
    try {
      bundle = readPublishedBundle(store, config.trustDomain);
    } finally {
      await store.close();
    }
    if (!bundle) throw new SluiceError("ERR_NO_BUNDLE", `no bundle for ${config.trustDomain} in ${config.dataDir} yet (sluice serve creates the CA on first start)`);
    if (ctx.flags.json || format === "spiffe") ctx.out(bundleToJson(bundle, { pretty: !ctx.flags.json }) + "\n");
    else if (format === "pem") ctx.out(bundle.x509Authorities.map((der) => new X509Certificate(der).toString()).join(""));
    else ctx.out(describe(bundle));
    return EXIT.ok;
  },
};

function describe(bundle: TrustBundle): string {
  const lines = [`trust domain ${bundle.trustDomain}, sequence ${bundle.sequence}${bundle.refreshHint ? `, refresh hint ${bundle.refreshHint}s` : ""}`];
  for (const der of bundle.x509Authorities) {
    const cert = new X509Certificate(der);
    lines.push(`x509  ${cert.fingerprint256.replaceAll(":", "").slice(0, 16).toLowerCase()}  ${cert.subject.replace(/\n/g, ", ") || "(empty subject)"}  valid ${new Date(cert.validFrom).toISOString()} → ${new Date(cert.validTo).toISOString()}`);
  }
  for (const jwt of bundle.jwtAuthorities) lines.push(`jwt   kid ${jwt.kid}  ${jwt.jwk.kty}${jwt.jwk.crv ? ` ${jwt.jwk.crv}` : ""}`);
  return lines.join("\n") + "\n";
}

export const bundleCommand: Command = {
  name: "bundle",
  summary: "Show the trust domain's SPIFFE bundle",
  usage: "sluice bundle COMMAND",
  subcommands: [showCommand],
};
