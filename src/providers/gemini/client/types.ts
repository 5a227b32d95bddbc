/** The Gemini resources the client reads, as far as it reads them; every other field is passed through untouched. */

export interface GenerateContentResponse {
  candidates?: Array<{
    content?: { role?: string; parts?: Array<{ text?: string; thought?: boolean; [k: string]: unknown }> };
    finishReason?: string;
    [k: string]: unknown;
  }>;
  promptFeedback?: { blockReason?: string; [k: string]: unknown };
  usageMetadata?: { promptTokenCount?: number; candidatesTokenCount?: number; thoughtsTokenCount?: number; [k: string]: unknown };
  [k: string]: unknown;
}

export interface FileResource {
  name: string;
  uri: string;
  mimeType: string;
  state?: string;
  sizeBytes?: string;
  /** RFC 3339; Gemini keeps uploaded files 48 h. */
  expirationTime?: string;
  error?: { code?: number; message?: string };
  [k: string]: unknown;
}
