import { accessSync, constants, mkdirSync, statSync, type Stats } from "node:fs";
import { errnoCode } from "../errors/index.ts";
import type { Logger } from "../log/index.ts";
import { StoreError } from "./errors.ts";

const FIX = "run as root or set dataDir in sluice.yaml / SLUICE_DATA_DIR";

/**
 * Make sure `dir` exists (mode 0700, parents too) and this process can write to it.
 * Read-only opens only need it to exist.
 */
export function ensureDataDir(dir: string, opts: { readOnly: boolean; logger: Logger }): void {
  const uid = process.getuid?.() ?? -1;
  let stats = statOrUndefined(dir);

  if (!stats) {
    if (opts.readOnly) {
      throw new StoreError("ERR_STORE_NOT_FOUND", `data dir ${dir} does not exist (has \`sluice serve\` run with this dataDir?)`);
    }
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new StoreError(
        "ERR_STORE_NOT_WRITABLE",
        `cannot create data dir ${dir} as uid ${uid} (${errnoCode(err) ?? String(err)}): ${FIX}`,
        { cause: err },
      );
    }
    opts.logger.info("created data dir", { dataDir: dir });
    stats = statSync(dir);
  }

  if (!stats.isDirectory()) {
    throw new StoreError("ERR_STORE_NOT_A_DIRECTORY", `data dir ${dir} exists but is not a directory: remove it or set dataDir in sluice.yaml / SLUICE_DATA_DIR`);
  }
  if (opts.readOnly) return;

  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new StoreError(
      "ERR_STORE_NOT_WRITABLE",
      `data dir ${dir} is not writable by uid ${uid} (${errnoCode(err) ?? String(err)}): ${FIX}`,
      { cause: err },
    );
  }
  if ((stats.mode & 0o077) !== 0) {
    opts.logger.warn("data dir is accessible to other users; consider chmod 700", {
      dataDir: dir,
      mode: (stats.mode & 0o777).toString(8),
    });
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw new StoreError("ERR_STORE_NOT_WRITABLE", `cannot inspect data dir ${path} (${errnoCode(err) ?? String(err)}): ${FIX}`, { cause: err });
  }
}
