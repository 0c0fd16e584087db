#!/usr/bin/env bun
/**
 * SVID issuance throughput (issue 3 targets: ≥ 2,000 X.509-SVIDs/s, ≥ 10,000 JWT-SVIDs/s), each next
 * to baselines measured in the same run: bare node:crypto ECDSA P-256 signing and key generation,
 * jose's SignJWT, and @peculiar/x509 leaf creation when that package is installed.
 * Medians of RUNS runs of ~RUN_MS each, one at a time on the main thread. `bun bench/svid.ts`
 */
import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { silentLogger } from "../src/log/index.ts";
import { openTrustDomainCA, verifyJwtSvid, verifyX509Svid } from "../src/spiffe/index.ts";
import { openStore } from "../src/store/index.ts";

const RUNS = 5;
const RUN_MS = 400;
const TARGETS = { x509: 2000, jwt: 10000 };

/** Operations per second: median over RUNS runs, each repeating `op` for about RUN_MS. */
async function rate(op: () => unknown): Promise<number> {
  const results: number[] = [];
  for (let w = 0; w < 50; w++) await op();
  for (let r = 0; r < RUNS; r++) {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    while ((elapsed = performance.now() - start) < RUN_MS) {
      for (let i = 0; i < 20; i++) await op();
      n += 20;
    }
    results.push((n / elapsed) * 1000);
  }
  return results.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US").padStart(9);
const rows: string[] = [];
const row = (name: string, perSec: number, note = "") => {
  const line = `${name.padEnd(46)} ${fmt(perSec)}/s  ${note}`;
  rows.push(line);
  console.log(line);
};

const dir = mkdtempSync(join(tmpdir(), "sluice-bench-svid-"));
const store = await openStore({ dataDir: join(dir, "data") });
const ca = openTrustDomainCA({ store, trustDomain: "example.org", logger: silentLogger });
const ID = "spiffe://example.org/claude";
let failed = false;

try {
  console.log(`# SVID issuance (medians of ${RUNS} × ${RUN_MS} ms, ${navigator.hardwareConcurrency} cpus, bun ${Bun.version})\n`);
  const ecKey = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
  const tbs = randomBytes(450); // about a leaf's TBSCertificate
  const baseSign = await rate(() => sign("sha256", tbs, ecKey));
  row("baseline: node:crypto ECDSA P-256 sign", baseSign);
  const baseKeygen = await rate(() => generateKeyPairSync("ec", { namedCurve: "prime256v1", publicKeyEncoding: { type: "spki", format: "der" }, privateKeyEncoding: { type: "pkcs8", format: "der" } }));
  row("baseline: node:crypto P-256 keygen (DER)", baseKeygen);
  const baseBoth = 1 / (1 / baseSign + 1 / baseKeygen);
  const peculiar = await peculiarBaseline();
  if (peculiar) row("baseline: @peculiar/x509 leaf (key given)", peculiar);

  const x509 = await rate(() => ca.issueX509Svid({ spiffeId: ID }));
  row("X.509-SVID, sluice generates the key", x509, `${(x509 / baseBoth).toFixed(2)}× of bare keygen+sign; target ≥ ${TARGETS.x509}: ${x509 >= TARGETS.x509 ? "ok" : "MISSED"}`);
  const given = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey;
  const x509Given = await rate(() => ca.issueX509Svid({ spiffeId: ID, publicKey: given }));
  row("X.509-SVID, workload's public key given", x509Given, `${(x509Given / baseSign).toFixed(2)}× of bare sign${peculiar ? `; ${(x509Given / peculiar).toFixed(1)}× @peculiar/x509` : ""}`);
  failed ||= x509 < TARGETS.x509;

  const header = { alg: "ES256", kid: "k", typ: "JWT" } as const;
  const jose = await rate(() => new SignJWT({ sub: ID, aud: "a" }).setProtectedHeader(header).setIssuedAt().setExpirationTime("5m").sign(ecKey));
  row("baseline: jose SignJWT ES256 (awaited)", jose);
  const baseJws = await rate(() => sign("sha256", tbs.subarray(0, 200), { key: ecKey, dsaEncoding: "ieee-p1363" }));
  row("baseline: node:crypto ES256 sign (r‖s)", baseJws);
  const jwt = await rate(() => ca.issueJwtSvid({ spiffeId: ID, audience: "a" }));
  row("JWT-SVID", jwt, `${(jwt / jose).toFixed(2)}× jose, ${(jwt / baseJws).toFixed(2)}× of bare sign; target ≥ ${TARGETS.jwt}: ${jwt >= TARGETS.jwt ? "ok" : "MISSED"}`);
  failed ||= jwt < TARGETS.jwt;

  console.log("\n# Verification (not a target; for the proxy and the AS)\n");
  const svid = ca.issueX509Svid({ spiffeId: ID });
  row("verifyX509Svid (leaf → root)", await rate(() => verifyX509Svid(svid.certChain, ca.bundles)));
  const token = ca.issueJwtSvid({ spiffeId: ID, audience: "a" }).token;
  row("verifyJwtSvid", await rate(() => verifyJwtSvid(token, ca.bundles, { audience: "a" })));
} finally {
  ca.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

/** @peculiar/x509 is not a dependency; measured only when someone has installed it. */
async function peculiarBaseline(): Promise<number | undefined> {
  try {
    const name = "@peculiar/x509";
    await import("reflect-metadata" as string);
    const x509 = (await import(name as string)) as any;
    const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
    const caKeys = await crypto.subtle.generateKey(alg, false, ["sign", "verify"]);
    const leafKeys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
    return await rate(() =>
      x509.X509CertificateGenerator.create({
        serialNumber: "01",
        subject: "",
        issuer: "CN=bench",
        notBefore: new Date(),
        notAfter: new Date(Date.now() + 3600_000),
        signingAlgorithm: alg,
        publicKey: leafKeys.publicKey,
        signingKey: caKeys.privateKey,
        extensions: [new x509.SubjectAlternativeNameExtension([{ type: "url", value: ID }], true)],
      }),
    );
  } catch {
    return undefined;
  }
}
