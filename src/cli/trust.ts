import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../config/index.ts";
import { SluiceError } from "../errors/index.ts";
import { HOST_CA_PEM_FILE, openHostCa } from "../proxy/index.ts";
import { openStore } from "../store/index.ts";
import { EXIT, type Command, type CommandContext } from "./command.ts";
import { configFlag } from "./config-flag.ts";

/** Debian's layout (update-ca-certificates defaults), below `root`. */
function trustPaths(root: string) {
  const at = (p: string) => (root === "/" ? p : join(root, p));
  return {
    localDir: at("/usr/local/share/ca-certificates"),
    file: at("/usr/local/share/ca-certificates/sluice-host-ca.crt"),
    bundle: at("/etc/ssl/certs/ca-certificates.crt"),
    updateArgs:
      root === "/"
        ? []
        : ["--certsconf", at("/etc/ca-certificates.conf"), "--certsdir", at("/usr/share/ca-certificates"), "--localcertsdir", at("/usr/local/share/ca-certificates"), "--etccertsdir", at("/etc/ssl/certs"), "--hooksdir", at("/etc/ca-certificates/update.d")],
  };
}

const ROOT_FLAG = { name: "root", kind: "string", placeholder: "DIR", default: "/", help: "filesystem root holding the trust store (image builds, tests); default /" } as const;

/**
 * The host CA certificate (public): `<dataDir>/host-ca.pem`, written by `sluice serve` (which holds
 * the store's lock); when serve has never run, the store is opened and the CA created.
 */
async function hostCaPem(ctx: CommandContext): Promise<{ pem: string; path: string }> {
  const { config } = loadConfig({ file: configFlag(ctx.flags), env: ctx.env });
  const path = join(config.dataDir, HOST_CA_PEM_FILE);
  if (existsSync(path)) return { pem: readFileSync(path, "utf8"), path };
  let store;
  try {
    store = await openStore({ dataDir: config.dataDir });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ERR_STORE_LOCKED") throw new SluiceError("ERR_TRUST_NO_CA", `${path} does not exist and the store is locked by a running sluice serve; restart it once so it writes the host CA there`);
    throw err;
  }
  try {
    const ca = openHostCa(store);
    return { pem: ca.certPem, path: ca.pemPath };
  } finally {
    await store.close();
  }
}

async function runUpdate(args: readonly string[]): Promise<void> {
  const p = Bun.spawn(["update-ca-certificates", ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if ((await p.exited) !== 0) throw new SluiceError("ERR_TRUST_UPDATE", `update-ca-certificates failed: ${(err || out).trim().split("\n").slice(-3).join(" ")}`);
}

function envLines(pemPath: string, bundle: string): string[] {
  return [
    `export NODE_EXTRA_CA_CERTS=${pemPath}   # Node.js: adds to its built-in roots`,
    `export SSL_CERT_FILE=${bundle}   # OpenSSL-based runtimes (Python ssl, Ruby, Go on some builds): the system bundle, host CA included after install`,
    `export REQUESTS_CA_BUNDLE=${bundle}   # Python requests/httpx (certifi otherwise)`,
    `export CURL_CA_BUNDLE=${bundle}   # curl built without the system store`,
  ];
}

const installCommand: Command = {
  name: "install",
  summary: "Add the host CA to the system trust store",
  usage: "sluice trust install [--root DIR]",
  description: `Copies the host CA certificate (which the proxy signs intercepted TLS leaves with) to
/usr/local/share/ca-certificates/sluice-host-ca.crt and runs update-ca-certificates, so programs
using the system store trust intercepted Services. Does nothing if the same certificate is
already installed. Runtimes that ignore the system store need the lines \`sluice trust print\`
shows. Needs root.`,
  flags: [ROOT_FLAG],
  async run(ctx) {
    const { pem, path } = await hostCaPem(ctx);
    const paths = trustPaths(String(ctx.flags.root ?? "/"));
    const already = existsSync(paths.file) && readFileSync(paths.file, "utf8") === pem;
    if (!already) {
      mkdirSync(paths.localDir, { recursive: true });
      writeFileSync(paths.file, pem, { mode: 0o644 });
      await runUpdate(paths.updateArgs);
    }
    if (ctx.flags.json) ctx.out(JSON.stringify({ installed: paths.file, changed: !already, source: path }) + "\n");
    else ctx.out(already ? `already trusted: ${paths.file}\n` : `installed ${paths.file} and updated ${paths.bundle}\n`);
    return EXIT.ok;
  },
};

const uninstallCommand: Command = {
  name: "uninstall",
  summary: "Remove the host CA from the system trust store",
  usage: "sluice trust uninstall [--root DIR]",
  description: `Removes /usr/local/share/ca-certificates/sluice-host-ca.crt and runs
update-ca-certificates --fresh, so nothing on this host trusts sluice's interception any more.`,
  flags: [ROOT_FLAG],
  async run(ctx) {
    const paths = trustPaths(String(ctx.flags.root ?? "/"));
    const present = existsSync(paths.file);
    if (present) {
      rmSync(paths.file);
      await runUpdate(["--fresh", ...paths.updateArgs]);
    }
    if (ctx.flags.json) ctx.out(JSON.stringify({ removed: present ? paths.file : null }) + "\n");
    else ctx.out(present ? `removed ${paths.file} and updated ${paths.bundle}\n` : `not installed: ${paths.file} does not exist\n`);
    return EXIT.ok;
  },
};

const printCommand: Command = {
  name: "print",
  summary: "Print the host CA certificate and the environment lines for other runtimes",
  usage: "sluice trust print [--json]",
  description: `Prints the host CA certificate (PEM) on stdout, then, as comments, the environment
variables for runtimes that do not read the system trust store (Node.js, Python requests, some
curl and OpenSSL builds).`,
  flags: [ROOT_FLAG],
  async run(ctx) {
    const { pem, path } = await hostCaPem(ctx);
    const paths = trustPaths(String(ctx.flags.root ?? "/"));
    const lines = envLines(path, paths.bundle);
    if (ctx.flags.json) ctx.out(JSON.stringify({ pem, path, env: { NODE_EXTRA_CA_CERTS: path, SSL_CERT_FILE: paths.bundle, REQUESTS_CA_BUNDLE: paths.bundle, CURL_CA_BUNDLE: paths.bundle } }) + "\n");
    else ctx.out(pem + "\n" + lines.map((l) => `# ${l}`).join("\n") + "\n");
    return EXIT.ok;
  },
};

export const trustCommand: Command = {
  name: "trust",
  summary: "Trust sluice's host CA (TLS interception) on this host",
  usage: "sluice trust COMMAND",
  description: `The proxy terminates TLS for intercepted Services with certificates from a host CA
that sluice creates and keeps sealed in its store. Agents must trust it:
  sudo sluice trust install     system trust store (update-ca-certificates)
  sluice trust print            the certificate, and NODE_EXTRA_CA_CERTS/SSL_CERT_FILE/… lines
  sudo sluice trust uninstall   remove it again`,
  subcommands: [installCommand, uninstallCommand, printCommand],
};
