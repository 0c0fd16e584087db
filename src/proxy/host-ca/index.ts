/**
 * Host CA for TLS interception: `openHostCa(store, options?)` → `HostCa` (`certPem`, `pemPath`,
 * `prepare(nameSets)` ahead-of-time leaves from policy, `identityFor(name)` with on-demand
 * minting, `identityForSet(names)`); `HOST_CA_PEM_FILE`, `HOST_CA_NAME`.
 */
export { openHostCa, HOST_CA_PEM_FILE, type HostCa, type HostCaOptions, type ServerIdentity } from "./host-ca.ts";
export { HOST_CA_NAME } from "./certificates.ts";
