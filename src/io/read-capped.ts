/**
 * Reads a body stream into memory with a byte cap: the one place every bounded read of an HTTP
 * body (form posts, registrations, fetched documents) goes through. Over the cap, the stream is
 * cancelled and `BodyTooLarge` thrown; callers turn it into their own error (413, invalid_request…).
 */
export class BodyTooLarge extends Error {
  constructor(readonly max: number) {
    super(`the body is larger than ${max} bytes`);
    this.name = "BodyTooLarge";
  }
}

export async function readCapped(body: ReadableStream<Uint8Array> | null | undefined, max: number): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > max) throw new BodyTooLarge(max);
      chunks.push(value);
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
