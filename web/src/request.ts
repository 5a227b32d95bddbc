/**
 * What the user has put together (images, prompt, options) and the one function that turns
 * it into a generateContent body. Sending, counting tokens and "copy as code" all go
 * through `buildRequest`, so the copied code asks exactly what the page asked.
 */
import type { GenerateRequest, Part, Preview } from './api.js';

export type ImageSource =
  /** Bytes picked or dropped in this page, sent inline as base64. */
  | { kind: 'inline'; base64: string; bytes: number }
  /** A file of the Files API, referenced by its URI. */
  | { kind: 'file'; name: string; uri: string };

export interface ImageInput {
  id: string;
  /** The file name (or display name of an uploaded file). */
  name: string;
  mimeType: string;
  source: ImageSource;
  preview: Preview;
}

export interface RequestOptions {
  /** '' for plain text, else e.g. application/json. */
  responseMimeType: string;
  /** JSON text of a responseSchema; '' for none. */
  responseSchema: string;
}

export interface Draft {
  model: string;
  prompt: string;
  images: ImageInput[];
  options: RequestOptions;
}

/** Thrown for a draft that cannot be sent; the message is shown as is. */
export class DraftError extends Error {}

export function imagePart(image: ImageInput): Part {
  return image.source.kind === 'inline'
    ? { inlineData: { mimeType: image.mimeType, data: image.source.base64 } }
    : { fileData: { mimeType: image.mimeType, fileUri: image.source.uri } };
}

export function buildRequest(draft: Draft): GenerateRequest {
  if (draft.images.length === 0 && draft.prompt.trim() === '') throw new DraftError('Add an image or type a prompt first.');
  // Images first, then the text: the order the Gemini guide recommends for a single image.
  const parts: Part[] = draft.images.map(imagePart);
  if (draft.prompt.trim() !== '') parts.push({ text: draft.prompt });
  const generationConfig: NonNullable<GenerateRequest['generationConfig']> = {};
  if (draft.options.responseMimeType) generationConfig.responseMimeType = draft.options.responseMimeType;
  if (draft.options.responseSchema.trim() !== '') {
    try {
      generationConfig.responseSchema = JSON.parse(draft.options.responseSchema);
    } catch (err) {
      throw new DraftError(`responseSchema is not valid JSON: ${(err as Error).message}`);
    }
  }
  return {
    contents: [{ role: 'user', parts }],
    ...(Object.keys(generationConfig).length ? { generationConfig } : {}),
  };
}

/** Text of all candidates' first parts of a stream chunk (the playground asks for one candidate). */
export function chunkText(chunk: { candidates?: Array<{ content?: { parts?: Array<{ text?: string }> } }> }): string {
  return (chunk.candidates?.[0]?.content?.parts ?? []).map((p) => p.text ?? '').join('');
}

/** base64 of bytes, in slices so large photos do not overflow the argument limit of String.fromCharCode. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) binary += String.fromCharCode(...bytes.subarray(i, i + step));
  return btoa(binary);
}
