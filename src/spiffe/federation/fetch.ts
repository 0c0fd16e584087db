/**
 * Reading a federated bundle: from a file, or over HTTPS from a bundle endpoint with redirects
 * refused, a size cap and a timeout. Only TLS-authenticated endpoints (https_web: the system's
 * roots, or a CA given for this endpoint).
 */
import { readFile, stat } from "node:fs/promises";
import { FederationError } from "../errors.ts";
import { BodyTooLarge, readCapped } from "../../io/index.ts";

export interface ReadLimits {
  readonly maxBytes: number;
  readonly timeoutMs: number;
}

export async function readBundleFile(path: string, limits: ReadLimits): Promise<Uint8Array> {
  try {
    const info = await stat(path);
    if (info.size > limits.maxBytes) throw new FederationError(`${path} is ${info.size} bytes; the limit is ${limits.maxBytes}`);
    return new Uint8Array(await readFile(path));
  } catch (err) {
    if (err instanceof FederationError) throw err;
    throw new FederationError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export async function fetchBundle(url: string, ca: string | undefined, limits: ReadLimits): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url, {
      redirect: "manual",
      signal: AbortSignal.timeout(limits.timeoutMs),
      headers: { accept: "application/json" },
      ...(ca ? { tls: { ca } } : {}),
    });
  } catch (err) {
    throw new FederationError(`GET ${url}: ${(err as Error).message}`, { cause: err });
  }
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel();
    throw new FederationError(`GET ${url}: redirect (${response.status}) refused; configure the final URL`);
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new FederationError(`GET ${url}: HTTP ${response.status}`);
  }
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > limits.maxBytes) {
    await response.body?.cancel();
    throw new FederationError(`GET ${url}: body of ${declared} bytes exceeds the limit of ${limits.maxBytes}`);
  }
  return await readBody(response, url, limits.maxBytes);
}

async function readBody(response: Response, url: string, maxBytes: number): Promise<Uint8Array> {
  try {
    return await readCapped(response.body, maxBytes);
  } catch (err) {
    if (err instanceof BodyTooLarge) throw new FederationError(`GET ${url}: body exceeds the limit of ${maxBytes} bytes`);
    throw new FederationError(`GET ${url}: ${(err as Error).message}`, { cause: err });
  }
}
