/**
 * A throwaway test CA and a server leaf for loopback (127.0.0.1, ::1, localhost), made with the
 * openssl CLI in a temp dir. For HTTPS peers in tests (upstream AS, resource servers).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestTls {
  readonly dir: string;
  /** PEM of the CA certificate (what clients trust); also written to `caFile`. */
  readonly ca: string;
  readonly caFile: string;
  /** Server leaf for 127.0.0.1 / ::1 / localhost. */
  readonly cert: string;
  readonly key: string;
  /** Extra leaves for more names: `leaf(["mcp.test"])`. */
  leaf(dnsNames: readonly string[], ips?: readonly string[]): { cert: string; key: string };
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  const r = Bun.spawnSync(["openssl", ...args], { cwd, stderr: "pipe", stdout: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr.toString()}`);
}

export function makeTestTls(): TestTls {
  const dir = mkdtempSync(join(tmpdir(), "sluice-test-ca-"));
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"], dir);
  openssl(["req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=sluice test CA", "-days", "2", "-out", "ca.pem",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
  let n = 0;
  const leaf = (dnsNames: readonly string[], ips: readonly string[] = []) => {
    const name = `leaf${n++}`;
    const san = [...dnsNames.map((d) => `DNS:${d}`), ...ips.map((i) => `IP:${i}`)].join(",");
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`);
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`], dir);
    openssl(["req", "-new", "-key", `${name}.key`, "-subj", `/CN=${dnsNames[0] ?? ips[0]}`, "-out", `${name}.csr`], dir);
    openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
      "-extfile", `${name}.ext`, "-out", `${name}.pem`], dir);
    return { cert: readFileSync(join(dir, `${name}.pem`), "utf8"), key: readFileSync(join(dir, `${name}.key`), "utf8") };
  };
  const main = leaf(["localhost"], ["127.0.0.1", "::1"]);
  return {
    dir,
    ca: readFileSync(join(dir, "ca.pem"), "utf8"),
    caFile: join(dir, "ca.pem"),
    cert: main.cert,
    key: main.key,
    leaf,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
