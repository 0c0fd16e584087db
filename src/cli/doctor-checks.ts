import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { formatDiagnostic, loadPolicyDir } from "../policy/index.ts";
import { openStore, STORE_FILES } from "../store/index.ts";
import type { CheckResult, DoctorCheck } from "../doctor/index.ts";

const rootCheck: DoctorCheck = {
  name: "root",
  run(): CheckResult {
    const uid = process.getuid?.() ?? -1;
    if (uid === 0) return { status: "ok", message: "running as root" };
    return { status: "warn", message: `running as uid ${uid}`, fix: "sluice serve needs root for kernel enforcement and to attest other users' processes: sudo sluice doctor" };
  },
};

const dataDirCheck: DoctorCheck = {
  name: "data dir",
  async run({ loaded }): Promise<CheckResult> {
    const dir = loaded.config.dataDir;
    if (!existsSync(dir)) {
      const parent = nearestExisting(dirname(dir));
      if (isWritable(parent)) return { status: "ok", message: `${dir} does not exist yet; sluice serve creates it (mode 0700)` };
      return { status: "fail", message: `${dir} does not exist and ${parent} is not writable`, fix: "run as root or set dataDir / SLUICE_DATA_DIR" };
    }
    const st = statSync(dir);
    if (!st.isDirectory()) return { status: "fail", message: `${dir} is not a directory`, fix: "remove it or set dataDir" };
    if (!isWritable(dir)) return { status: "fail", message: `${dir} is not writable by uid ${process.getuid?.()}`, fix: "run as root or set dataDir / SLUICE_DATA_DIR" };
    const keyPath = join(dir, STORE_FILES.masterKey);
    if (existsSync(keyPath) && (statSync(keyPath).mode & 0o077) !== 0) {
      return { status: "fail", message: `${keyPath} has mode ${(statSync(keyPath).mode & 0o777).toString(8)}; sluice refuses to start`, fix: `chmod 600 ${keyPath}` };
    }
    const notes: string[] = [];
    if ((st.mode & 0o077) !== 0) notes.push(`mode ${(st.mode & 0o777).toString(8)} lets other users in`);
    const holder = lockHolder(join(dir, STORE_FILES.lock));
    notes.push(holder ? `in use by sluice serve (pid ${holder})` : "no sluice serve holds it");
    if (existsSync(join(dir, STORE_FILES.lmdb, "data.mdb"))) {
      const store = await openStore({ dataDir: dir, readOnly: true });
      notes.push(`store schema v${store.schemaVersion}`);
      await store.close();
    } else notes.push("no store yet");
    const warn = (st.mode & 0o077) !== 0;
    return { status: warn ? "warn" : "ok", message: `${dir}: ${notes.join("; ")}`, ...(warn ? { fix: `chmod 700 ${dir}` } : {}) };
  },
};

const policyDirCheck: DoctorCheck = {
  name: "policy dir",
  async run({ loaded }): Promise<CheckResult> {
    const { policyDir, trustDomain } = loaded.config;
    if (!existsSync(policyDir)) return { status: "warn", message: `${policyDir} does not exist: nothing is managed`, fix: "sluice init writes example policies" };
    const result = await loadPolicyDir(policyDir, { trustDomain });
    const errors = result.diagnostics.filter((d) => d.severity === "error");
    if (errors.length > 0 || !result.snapshot) {
      const shown = errors.slice(0, 3).map(formatDiagnostic).join("; ");
      return { status: "fail", message: `${policyDir}: ${errors.length} error(s): ${shown}`, fix: `sluice policy check ${policyDir}` };
    }
    const stats = Object.entries(result.snapshot.stats).map(([k, v]) => `${v} ${k}`).join(", ");
    const warnings = result.diagnostics.length;
    return { status: warnings ? "warn" : "ok", message: `${policyDir}: valid (${stats})${warnings ? `, ${warnings} warning(s)` : ""}`, ...(warnings ? { fix: `sluice policy check ${policyDir}` } : {}) };
  },
};

export const BASE_DOCTOR_CHECKS: readonly DoctorCheck[] = [rootCheck, dataDirCheck, policyDirCheck];

function nearestExisting(path: string): string {
  let p = path;
  while (!existsSync(p) && p !== dirname(p)) p = dirname(p);
  return p;
}

function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The pid in the lock file, if that process is alive (the holder truncates the file on release). */
function lockHolder(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`) ? pid : undefined;
  } catch {
    return undefined;
  }
}
