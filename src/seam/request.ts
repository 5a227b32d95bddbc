/**
 * The engine seam: what generateContent hands to whatever understands images. Inputs are
 * already resolved (images decoded, files opened, key case normalised); the engine yields
 * the answer as text pieces so streaming can forward them as they are composed.
 */
import type { DecodedImage } from '../media/decode.js';
import type { ModelEntry } from './model.js';
import type { SafetyRating } from '../vision/analysis.js';
import type { GenerateContentRequest } from '../wire/request.js';

export type InputPart =
  | { kind: 'text'; text: string }
  | {
      kind: 'image';
      /** Where the image came from, e.g. `contents[0].parts[1].inlineData`, for messages. */
      label: string;
      image: DecodedImage;
      /** File name when it came from the Files API (`files/abc`). */
      fileName?: string;
      /** The part's own mediaResolution level (Gemini 3), for token accounting. */
      mediaResolution?: string;
    };

export interface InputTurn {
  role: 'user' | 'model';
  parts: InputPart[];
}

export interface OutputFormat {
  /** `text/plain`, `application/json` or `text/x.enum`. */
  mimeType: string;
  /** A JSON Schema (Gemini's Schema already converted) the answer must satisfy, if any. */
  jsonSchema?: Record<string, unknown>;
}

export interface EngineRequest {
  model: ModelEntry;
  /** Who asks (the API key's project): providers that read stored files need it. */
  project: string;
  /** The request as parsed from the wire, camelCase: for providers that forward it whole. */
  wire: GenerateContentRequest;
  turns: InputTurn[];
  systemInstruction?: string;
  output: OutputFormat;
  signal: AbortSignal;
  /** Real token usage or a finish reason, from engines that forward to a model that reports them. */
  report?(r: EngineReport): void;
}

export interface EngineReport {
  usage?: { promptTokenCount?: number; candidatesTokenCount?: number; thoughtsTokenCount?: number };
  finishReason?: string;
}

export interface Engine {
  readonly name: string;
  /**
   * safetyRatings of the request's images, if this engine can rate them; generation
   * checks them against safetySettings before any answer is sent.
   */
  rateSafety?(images: DecodedImage[], signal: AbortSignal): Promise<SafetyRating[]>;
  /** Yields the answer in pieces; the concatenation is the whole answer. */
  generate(request: EngineRequest): AsyncIterable<string>;
}

/** The images of the request in order, for engines that look at all of them. */
export function imagesOf(request: Pick<EngineRequest, 'turns'>): Array<Extract<InputPart, { kind: 'image' }>> {
  return request.turns.flatMap((t) => t.parts.filter((p): p is Extract<InputPart, { kind: 'image' }> => p.kind === 'image'));
}

/** The user's words of the last user turn (the question being asked). */
export function promptOf(request: Pick<EngineRequest, 'turns'>): string {
  const lastUser = [...request.turns].reverse().find((t) => t.role === 'user');
  return (lastUser?.parts ?? [])
    .filter((p): p is Extract<InputPart, { kind: 'text' }> => p.kind === 'text')
    .map((p) => p.text)
    .join('\n')
    .trim();
}
