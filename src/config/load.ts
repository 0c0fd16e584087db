import { existsSync } from "node:fs";
import { DEFAULT_CONFIG_PATH } from "./defaults.ts";
import { readEnvOverrides } from "./env.ts";
import { readConfigFile } from "./file.ts";
import { resolveConfig, type ConfigLayer } from "./resolve.ts";
import type { LoadedConfig } from "./types.ts";

/** `--config none` (or SLUICE_CONFIG=none): no file, built-in defaults plus environment. */
export const NO_CONFIG = "none";

export interface LoadConfigOptions {
  /** `--config` value: a path, "none", or null when not given. */
  readonly file: string | null;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * defaults < file < environment. The file is --config, else SLUICE_CONFIG, else
 * /etc/sluice/sluice.yaml if it exists (its absence is fine: `sluice serve` runs on defaults).
 * An explicitly named file must exist.
 */
export function loadConfig({ file, env }: LoadConfigOptions): LoadedConfig {
  const named = file ?? env.SLUICE_CONFIG ?? null;
  let path: string | null;
  if (named === NO_CONFIG) path = null;
  else if (named !== null) path = named;
  else path = existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : null;

  const layers: ConfigLayer[] = [];
  if (path !== null) layers.push({ origin: "file", raw: readConfigFile(path) });
  layers.push({ origin: "env", raw: readEnvOverrides(env).raw });
  const { config, origins } = resolveConfig(layers);
  return { config, file: path, origins };
}
