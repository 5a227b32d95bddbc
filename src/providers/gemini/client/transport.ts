/**
 * How the Gemini client sends one HTTP request. The client speaks the protocol; the
 * transport moves bytes and owns the policy around them: plain fetch for the CLI and the
 * browser (fetch-transport.ts), deadlines, abort and provider errors for the upstream
 * provider (providers/provider-fetch.ts answers in this shape already).
 */
export type UploadBody = Uint8Array | ReadableStream<Uint8Array>;

export interface HttpRequest {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  body?: string | UploadBody;
  /** Bytes of an upload body: a transport whose deadline grows with what it sends reads it. */
  uploadBytes?: number;
  signal?: AbortSignal;
}

export interface HttpAnswer {
  status: number;
  statusText?: string;
  headers: { get(name: string): string | null };
  /** The body's chunks, as they arrive. */
  body(): AsyncIterable<Uint8Array>;
  text(): Promise<string>;
}

export type Transport = (request: HttpRequest) => Promise<HttpAnswer>;
