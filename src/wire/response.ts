/**
 * GenerateContentResponse as Gemini sends it, camelCase only: the JS SDK reads exact
 * camelCase paths and silently drops anything else.
 */
import { randomBytes } from 'node:crypto';

/** One modality's share of a token count (usageMetadata.promptTokensDetails entries). */
export interface ModalityTokenCount {
  modality: 'TEXT' | 'IMAGE';
  tokenCount: number;
}

export interface UsageMetadata {
  promptTokenCount: number;
  candidatesTokenCount: number;
  totalTokenCount: number;
  thoughtsTokenCount?: number;
  promptTokensDetails: ModalityTokenCount[];
  candidatesTokensDetails?: ModalityTokenCount[];
}

export interface Candidate {
  /** Absent when the candidate was blocked (finishReason SAFETY), as in Gemini. */
  content?: { parts: Array<{ text: string }>; role: 'model' };
  finishReason?: string;
  index: number;
  safetyRatings?: Array<{ category: string; probability: string; blocked?: boolean }>;
}

export interface GenerateContentResponse {
  candidates: Candidate[];
  usageMetadata: UsageMetadata;
  modelVersion: string;
  responseId: string;
}

/** Same shape as Gemini's ids (22 URL-safe characters). */
export const newResponseId = (): string => randomBytes(16).toString('base64url').slice(0, 22);

export function usageMetadata(prompt: { total: number; details: ModalityTokenCount[] }, candidatesTokens: number): UsageMetadata {
  return {
    promptTokenCount: prompt.total,
    candidatesTokenCount: candidatesTokens,
    totalTokenCount: prompt.total + candidatesTokens,
    promptTokensDetails: prompt.details,
    ...(candidatesTokens > 0 ? { candidatesTokensDetails: [{ modality: 'TEXT' as const, tokenCount: candidatesTokens }] } : {}),
  };
}

export function candidate(index: number, text: string, finishReason?: string): Candidate {
  return {
    content: { parts: [{ text }], role: 'model' },
    ...(finishReason ? { finishReason } : {}),
    index,
  };
}
