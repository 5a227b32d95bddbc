/**
 * Server-sent events from a fetch body, parsed by the server's own Gemini client parser
 * (src/providers/gemini/client/sse.ts, which has no Node imports): each event's `data` is
 * yielded as soon as its blank line has arrived, so the answer can be shown while it is
 * still being written.
 */
import { sseEvents } from '../../src/providers/gemini/client/sse.js';

export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  let finished = false;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        finished = true;
        return;
      }
      yield value;
    }
  }
  try {
    yield* sseEvents(chunks());
  } finally {
    // A reader that stops early (the user pressed Stop) closes the connection, which stops the server's work.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
