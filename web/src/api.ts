/**
 * The playground's client for this server's Gemini API (and its one extra route, the
 * preview). Every call sends the API key from the key field, and every failure becomes an
 * `ApiCallError` carrying the server's own error message: the UI never shows a blank or a
 * bare status code.
 */
import { readSse } from './sse.js';

/** Gemini's error envelope, as every route of the server answers. */
interface ErrorEnvelope {
  error?: { code?: number; message?: string; status?: string };
}

export class ApiCallError extends Error {
  constructor(
    message: string,
    readonly httpStatus: number,
    readonly status: string,
  ) {
    super(message);
    this.name = 'ApiCallError';
  }
}

export interface Part {
  text?: string;
  inlineData?: { mimeType: string; data: string };
  fileData?: { mimeType: string; fileUri: string };
}

export interface GenerateRequest {
  contents: Array<{ role: 'user'; parts: Part[] }>;
  generationConfig?: { responseMimeType?: string; responseSchema?: unknown };
}

export interface UsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  totalTokenCount?: number;
  promptTokensDetails?: Array<{ modality: string; tokenCount: number }>;
}

export interface GenerateChunk {
  candidates?: Array<{ content?: { parts?: Array<{ text?: string }> }; finishReason?: string }>;
  usageMetadata?: UsageMetadata;
  modelVersion?: string;
  error?: ErrorEnvelope['error'];
}

export interface ModelInfo {
  name: string;
  displayName?: string;
  supportedGenerationMethods?: string[];
}

export interface FileResource {
  name: string;
  displayName?: string;
  mimeType: string;
  sizeBytes: string;
  createTime: string;
  expirationTime: string;
  uri: string;
  state: 'PROCESSING' | 'ACTIVE' | 'FAILED';
  error?: { message?: string };
}

export interface Preview {
  /** An object URL of the upright JPEG; revoke it when the image is removed. */
  url: string;
  /** The size the model sees (the preview itself may be scaled down). */
  width: number;
  height: number;
  /** The MIME type of the original bytes, as the server sniffed them. */
  mimeType: string;
}

/** The API version the playground speaks; both SDKs' defaults work, v1beta is the docs'. */
export const VERSION = 'v1beta';

/** The server's message for a failed response, whatever shape the body has. */
export async function errorOf(res: Response): Promise<ApiCallError> {
  const text = await res.text().catch(() => '');
  let env: ErrorEnvelope | undefined;
  try {
    env = JSON.parse(text) as ErrorEnvelope;
  } catch {
    /* not JSON: a proxy's page, say */
  }
  const message = env?.error?.message || text.trim().slice(0, 500) || `HTTP ${res.status} ${res.statusText}`.trim();
  return new ApiCallError(message, res.status, env?.error?.status ?? '');
}

export class ApiClient {
  /**
   * @param base the server's base URL as this page sees it (origin plus any proxy prefix)
   * @param apiKey read at each call, so a key typed later applies at once
   */
  constructor(
    readonly base: string,
    private readonly apiKey: () => string,
  ) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    const key = this.apiKey().trim();
    return { ...(key ? { 'x-goog-api-key': key } : {}), ...extra };
  }

  private async call(path: string, init: RequestInit = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, { ...init, headers: { ...this.headers(), ...(init.headers as Record<string, string> | undefined) } });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw new ApiCallError(`Cannot reach the server at ${this.base}: ${(err as Error).message}`, 0, 'UNAVAILABLE');
    }
    if (!res.ok) throw await errorOf(res);
    return res;
  }

  private async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    return (await (await this.call(path, init)).json()) as T;
  }

  /** Every model that can generate content, following the pages. */
  async listModels(): Promise<ModelInfo[]> {
    const out: ModelInfo[] = [];
    let token = '';
    do {
      const page = await this.json<{ models?: ModelInfo[]; nextPageToken?: string }>(
        `/${VERSION}/models?pageSize=1000${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`,
      );
      out.push(...(page.models ?? []));
      token = page.nextPageToken ?? '';
    } while (token);
    return out.filter((m) => m.supportedGenerationMethods?.includes('generateContent') ?? true);
  }

  async countTokens(model: string, request: GenerateRequest, signal?: AbortSignal): Promise<number> {
    const body = await this.json<{ totalTokens: number }>(`/${VERSION}/models/${model}:countTokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contents: request.contents }),
      ...(signal ? { signal } : {}),
    });
    return body.totalTokens;
  }

  /** streamGenerateContent?alt=sse, one parsed chunk at a time as the server sends them. */
  async *streamGenerate(model: string, request: GenerateRequest, signal: AbortSignal): AsyncGenerator<GenerateChunk> {
    const res = await this.call(`/${VERSION}/models/${model}:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
      signal,
    });
    if (!res.body) throw new ApiCallError('The server answered without a body.', res.status, 'INTERNAL');
    for await (const data of readSse(res.body)) {
      const chunk = JSON.parse(data) as GenerateChunk;
      // A failure after the stream started arrives as an event holding the error envelope.
      if (chunk.error) throw new ApiCallError(chunk.error.message || 'The stream failed.', chunk.error.code ?? 500, chunk.error.status ?? '');
      yield chunk;
    }
  }

  /** Upright preview of image bytes, decoded by the server exactly as for a request. */
  async preview(bytes: Blob): Promise<Preview> {
    return previewOf(await this.call('/playground/preview', { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } }));
  }

  /** Upright preview of an uploaded file (`files/abc`). */
  async previewFile(name: string): Promise<Preview> {
    return previewOf(await this.call(`/playground/preview/${name}`));
  }

  /** One page of files at a time until all are listed (the Files API caps pages at 100). */
  async listFiles(): Promise<FileResource[]> {
    const out: FileResource[] = [];
    let token = '';
    do {
      const page = await this.json<{ files?: FileResource[]; nextPageToken?: string }>(
        `/${VERSION}/files?pageSize=100${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`,
      );
      out.push(...(page.files ?? []));
      token = page.nextPageToken ?? '';
    } while (token);
    return out;
  }

  async deleteFile(name: string): Promise<void> {
    await this.call(`/${VERSION}/${name}`, { method: 'DELETE' });
  }
}

async function previewOf(res: Response): Promise<Preview> {
  const blob = await res.blob();
  return {
    url: URL.createObjectURL(blob),
    width: Number(res.headers.get('x-ocellus-image-width')),
    height: Number(res.headers.get('x-ocellus-image-height')),
    mimeType: res.headers.get('x-ocellus-image-mime-type') ?? 'image/jpeg',
  };
}
