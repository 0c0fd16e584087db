/** Reads a child's stdout as JSON objects, one per line, as they come (non-JSON lines are skipped). */
export function jsonLines(stream: ReadableStream<Uint8Array>): AsyncIterator<Record<string, unknown>> {
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  let buffer = "";
  return {
    async next() {
      for (;;) {
        const nl = buffer.indexOf("\n");
        if (nl >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          try {
            return { value: JSON.parse(line) as Record<string, unknown>, done: false };
          } catch {
            continue;
          }
        }
        const { value, done } = await reader.read();
        if (done) return { value: undefined, done: true };
        buffer += decoder.decode(value, { stream: true });
      }
    },
  };
}
