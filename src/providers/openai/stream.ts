/**
 * OpenAI chat-completions answers → text pieces, usage and finish reason. Streaming
 * answers are `data: {chunk}` events ending with `data: [DONE]`; with
 * `stream_options.include_usage` the last chunk before it carries `usage` and no choices.
 * An `{"error": …}` event can arrive at any point (vLLM, llama.cpp and LocalAI send one
 * when generation fails after the headers went out) and becomes the provider error it
 * names. Pure over the event payloads, so it is tested without a socket.
 */
import type { EngineReport } from '../../seam/request.js';
import { providerFailed, providerHttpError, type ProviderError } from '../provider-errors.js';

export interface ChatUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
}

interface ChatChunk {
  choices?: Array<{ delta?: { content?: unknown; reasoning_content?: unknown }; message?: { content?: unknown }; finish_reason?: unknown }>;
  usage?: ChatUsage | null;
  error?: unknown;
}

/** OpenAI finish reasons → Gemini's; `stop` (and tool calls, which we never ask for) is a plain STOP. */
export function geminiFinishReason(reason: unknown): string | undefined {
  switch (reason) {
    case 'length':
      return 'MAX_TOKENS';
    case 'content_filter':
      return 'SAFETY';
    case 'stop':
    case 'tool_calls':
    case 'function_call':
    case 'eos':
      return 'STOP';
    default:
      return undefined;
  }
}

export function reportOfUsage(usage: ChatUsage | null | undefined): EngineReport['usage'] | undefined {
  if (!usage) return undefined;
  const out: NonNullable<EngineReport['usage']> = {};
  if (typeof usage.prompt_tokens === 'number') out.promptTokenCount = usage.prompt_tokens;
  if (typeof usage.completion_tokens === 'number') out.candidatesTokenCount = usage.completion_tokens;
  return Object.keys(out).length ? out : undefined;
}

/** An `{"error": …}` payload (OpenAI's `{message, type, code}`, or a bare string) as the provider error it means. */
export function errorOfPayload(provider: string, error: unknown): ProviderError {
  if (typeof error === 'string') return providerFailed(provider, error);
  const e = (error ?? {}) as { message?: unknown; code?: unknown; status?: unknown; type?: unknown };
  const message = typeof e.message === 'string' ? e.message : JSON.stringify(error);
  const code = typeof e.code === 'number' ? e.code : typeof e.status === 'number' ? e.status : Number(e.code);
  if (Number.isInteger(code) && code >= 400 && code < 600) return providerHttpError(provider, code, message);
  return providerFailed(provider, message);
}

export interface ChatChunkInfo {
  content?: string;
  usage?: EngineReport['usage'];
  finishReason?: string;
}

/** One parsed chunk (or a whole non-streaming completion: `message` instead of `delta`). */
export function readChunk(provider: string, payload: unknown): ChatChunkInfo {
  const chunk = (payload ?? {}) as ChatChunk;
  if (chunk.error !== undefined && chunk.error !== null) throw errorOfPayload(provider, chunk.error);
  const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
  const raw = choice?.delta?.content ?? choice?.message?.content;
  const info: ChatChunkInfo = {};
  if (typeof raw === 'string' && raw !== '') info.content = raw;
  const usage = reportOfUsage(chunk.usage);
  if (usage) info.usage = usage;
  const finish = geminiFinishReason(choice?.finish_reason);
  if (finish) info.finishReason = finish;
  return info;
}

/**
 * The text pieces of a streamed answer, as they come; usage and finish reason go to
 * `report`. The stream must end with `[DONE]` or at least a finish reason: a body that
 * just stops is a cut connection, not an answer.
 */
export async function* chatPieces(provider: string, events: AsyncIterable<string>, report: (r: EngineReport) => void): AsyncGenerator<string> {
  let finished = false;
  for await (const data of events) {
    if (data.trim() === '[DONE]') return;
    let payload: unknown;
    try {
      payload = JSON.parse(data);
    } catch {
      throw providerFailed(provider, `sent a stream event that is not JSON: ${data.slice(0, 200)}`);
    }
    const info = readChunk(provider, payload);
    if (info.usage || info.finishReason) report({ ...(info.usage ? { usage: info.usage } : {}), ...(info.finishReason ? { finishReason: info.finishReason } : {}) });
    if (info.finishReason) finished = true;
    if (info.content !== undefined) yield info.content;
  }
  if (!finished) throw providerFailed(provider, 'the answer stream ended before it was complete (no finish reason, no [DONE])');
}
