/**
 * A throwaway PKI for tests that need real TLS peers (an "upstream" MCP server, an upstream AS):
 * a P-256 CA and leaves for DNS names / IPs, made by openssl in a temp dir.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestLeaf {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface TestCa {
  readonly dir: string;
  readonly certPem: string;
  /** Path of the CA certificate (for upstreamCaFile, NODE_EXTRA_CA_CERTS…). */
  readonly certFile: string;
  leaf(names: readonly string[]): TestLeaf;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  const r = Bun.spawnSync(["openssl", ...args], { cwd, stderr: "pipe", stdout: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr.toString()}`);
}

export function createTestCa(name = "sluice test CA"): TestCa {
  const dir = mkdtempSync(join(tmpdir(), "sluice-test-ca-"));
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"], dir);
  openssl(["req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "2", "-subj", `/CN=${name}`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "ca.pem"], dir);
  let serial = 1;
  return {
    dir,
    certPem: readFileSync(join(dir, "ca.pem"), "utf8"),
    certFile: join(dir, "ca.pem"),
    leaf(names) {
      const n = serial++;
      const san = names.map((v) => (/^[\d.]+$|:/.test(v) ? `IP:${v}` : `DNS:${v}`)).join(",");
      writeFileSync(join(dir, `leaf${n}.ext`), `subjectAltName=${san}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n`);
      openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `leaf${n}.key`], dir);
      openssl(["req", "-new", "-key", `leaf${n}.key`, "-subj", `/CN=${names[0]}`, "-out", `leaf${n}.csr`], dir);
      openssl(["x509", "-req", "-in", `leaf${n}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", String(1000 + n), "-days", "1", "-sha256", "-extfile", `leaf${n}.ext`, "-out", `leaf${n}.pem`], dir);
      return { certPem: readFileSync(join(dir, `leaf${n}.pem`), "utf8"), keyPem: readFileSync(join(dir, `leaf${n}.key`), "utf8") };
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
