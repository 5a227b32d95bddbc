/**
 * Streaming framings for streamGenerateContent. With `alt=sse` each chunk is exactly
 * `data: <one-line JSON>\r\n\r\n` and nothing else: no `event:`/`id:` lines, no comments,
 * no `[DONE]` (each of those breaks one SDK or the other). Without `alt` the body is one
 * JSON array written incrementally, as the real API does for curl users.
 */
export interface StreamFraming {
  contentType: string;
  open: string;
  chunk(json: unknown, first: boolean): string;
  close: string;
}

export const sseFraming: StreamFraming = {
  contentType: 'text/event-stream',
  open: '',
  chunk: (json) => `data: ${JSON.stringify(json)}\r\n\r\n`,
  close: '',
};

export const jsonArrayFraming: StreamFraming = {
  contentType: 'application/json; charset=UTF-8',
  open: '[',
  chunk: (json, first) => `${first ? '' : ',\r\n'}${JSON.stringify(json)}`,
  close: ']',
};

export function framingFor(alt: unknown): StreamFraming {
  return typeof alt === 'string' && alt.toLowerCase() === 'sse' ? sseFraming : jsonArrayFraming;
}
