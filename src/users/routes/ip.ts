/** The caller's address as the listener saw it (for rate limits and audit). */
export function ipOf(server: { requestIP(request: Request): { address: string } | null } | null | undefined, request: Request): string | undefined {
  try {
    return server?.requestIP(request)?.address;
  } catch {
    return undefined;
  }
}
