/**
 * Server-sent events from a fetch body: yields each event's `data` as soon as its blank
 * line has arrived, so the answer can be shown while it is still being written. The
 * server frames events as `data: {json}\r\n\r\n`; plain `\n` line ends and multi-line data
 * are accepted too, as the SSE spec allows.
 */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let finished = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      const events = buffer.split(/\r?\n\r?\n/);
      // The last piece is an event still arriving (or '' after a complete one).
      buffer = done ? '' : (events.pop() ?? '');
      for (const event of events) {
        const data = dataOf(event);
        if (data !== undefined) yield data;
      }
      if (done) {
        finished = true;
        return;
      }
    }
  } finally {
    // A reader that stops early (the user pressed Stop) closes the connection, which stops the server's work.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/** The joined `data:` lines of one event, or undefined when it has none (comments, blank). */
export function dataOf(event: string): string | undefined {
  const lines = event
    .split(/\r?\n/)
    .filter((l) => l.startsWith('data:'))
    .map((l) => l.slice(5).replace(/^ /, ''));
  return lines.length ? lines.join('\n') : undefined;
}
