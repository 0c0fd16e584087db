/**
 * sluice.yaml: schema, defaults for every field, environment overrides (SLUICE_*), resolution.
 * `loadConfig({file, env})` → `{config, file, origins}`; precedence defaults < file < env.
 */
export { loadConfig, NO_CONFIG, type LoadConfigOptions } from "./load.ts";
export { DEFAULTS, DEFAULT_CONFIG_PATH, type RawConfig } from "./defaults.ts";
export { envNameFor, readEnvOverrides, configFieldPaths } from "./env.ts";
export { resolveConfig, derivedIssuer, type ConfigLayer } from "./resolve.ts";
export { parseHostPort, isLoopbackHost, formatHostPort, type HostPort } from "./address.ts";
export type { SluiceConfig, LoadedConfig, ConfigOrigin } from "./types.ts";
