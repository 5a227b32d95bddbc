/**
 * Server-sent events, client side: the `data` of each event from a body's chunks, yielded
 * as soon as the blank line that ends it has arrived, so an answer can be shown (or passed
 * on) while it is still being written. Gemini frames events as `data: {json}\r\n\r\n`;
 * plain `\n` line ends, other fields and multi-line data (joined with `\n`) are accepted,
 * as the SSE spec allows. The one parser for every SSE stream Ocellus reads: upstream
 * Gemini and OpenAI-compatible servers, the CLI and the playground. No Node imports, so
 * the browser build uses it as it is.
 */
export async function* sseEvents(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  const take = (line: string): string | undefined => {
    if (line === '') {
      const event = data.length ? data.join('\n') : undefined;
      data = [];
      return event;
    }
    if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    return undefined;
  };
  for await (const chunk of chunks) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const event = take(buffer.slice(0, nl).replace(/\r$/, ''));
      buffer = buffer.slice(nl + 1);
      if (event !== undefined) yield event;
    }
  }
  // A body may end without the final blank line: its last event still counts.
  const rest = (buffer + decoder.decode()).replace(/\r$/, '');
  if (rest !== '') take(rest);
  const last = take('');
  if (last !== undefined) yield last;
}
