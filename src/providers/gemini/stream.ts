/**
 * Reading upstream Gemini's answer: each SSE event is a whole GenerateContentResponse that
 * carries a text delta, cumulative usageMetadata, and (on the last chunk) finishReason.
 */
import type { EngineReport } from '../../seam/request.js';

export interface UpstreamPart {
  text?: string;
  thought?: boolean;
}

export interface UpstreamChunk {
  candidates?: Array<{ content?: { parts?: UpstreamPart[] }; finishReason?: string }>;
  usageMetadata?: { promptTokenCount?: number; candidatesTokenCount?: number; thoughtsTokenCount?: number };
  promptFeedback?: { blockReason?: string };
  error?: { code?: number; message?: string; status?: string; details?: unknown[] };
}

/** The answer text of a chunk: candidate 0's text parts, without thought summaries (which are not the answer). */
export function chunkText(chunk: UpstreamChunk): string {
  const parts = chunk.candidates?.[0]?.content?.parts ?? [];
  return parts
    .filter((p) => p.thought !== true && typeof p.text === 'string')
    .map((p) => p.text)
    .join('');
}

/**
 * A prompt the upstream blocked arrives as 200 with no candidates and a promptFeedback
 * blockReason; every blockReason (SAFETY, OTHER, BLOCKLIST, PROHIBITED_CONTENT,
 * IMAGE_SAFETY) is also a finishReason, so it is reported as the candidate's.
 */
export function chunkFinishReason(chunk: UpstreamChunk): string | undefined {
  const fr = chunk.candidates?.[0]?.finishReason;
  if (fr && fr !== 'FINISH_REASON_UNSPECIFIED') return fr;
  const block = chunk.promptFeedback?.blockReason;
  return block && block !== 'BLOCK_REASON_UNSPECIFIED' ? block : undefined;
}

/** What the chunk says about real usage and the finish reason, for ctx.report; undefined when nothing. */
export function chunkReport(chunk: UpstreamChunk): EngineReport | undefined {
  const u = chunk.usageMetadata;
  const usage: NonNullable<EngineReport['usage']> = {};
  const n = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (n(u?.promptTokenCount)) usage.promptTokenCount = u.promptTokenCount;
  if (n(u?.candidatesTokenCount)) usage.candidatesTokenCount = u.candidatesTokenCount;
  if (n(u?.thoughtsTokenCount)) usage.thoughtsTokenCount = u.thoughtsTokenCount;
  const finishReason = chunkFinishReason(chunk);
  const report: EngineReport = {};
  if (Object.keys(usage).length) report.usage = usage;
  if (finishReason) report.finishReason = finishReason;
  return report.usage || report.finishReason ? report : undefined;
}
