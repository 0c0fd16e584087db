import pkg from "../package.json" with { type: "json" };

export const SLUICE_VERSION: string = pkg.version;
