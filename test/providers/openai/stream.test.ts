import { describe, expect, it } from 'vitest';
import type { EngineReport } from '../../../src/seam/request.js';
import { ProviderError } from '../../../src/providers/provider-errors.js';
import { sseEvents } from '../../../src/providers/provider-fetch.js';
import { chatPieces, errorOfPayload, geminiFinishReason, readChunk } from '../../../src/providers/openai/stream.js';

async function* bytes(...chunks: string[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield new TextEncoder().encode(c);
}

async function run(chunks: string[]): Promise<{ pieces: string[]; reports: EngineReport[] }> {
  const reports: EngineReport[] = [];
  const pieces: string[] = [];
  for await (const p of chatPieces('vlm', sseEvents(bytes(...chunks)), (r) => reports.push(r))) pieces.push(p);
  return { pieces, reports };
}

async function failure(chunks: string[]): Promise<{ error: ProviderError; pieces: string[] }> {
  const pieces: string[] = [];
  try {
    for await (const p of chatPieces('vlm', sseEvents(bytes(...chunks)), () => undefined)) pieces.push(p);
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return { error: err as ProviderError, pieces };
  }
  throw new Error('expected the stream to fail');
}

const delta = (content: string, finish: string | null = null) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;

describe('chat-completions streams', () => {
  it('yields the delta pieces in order and reports usage and the finish reason', async () => {
    const { pieces, reports } = await run([
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] })}\n\n`,
      delta('A dog'),
      delta(' on grass.', 'stop'),
      `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 321, completion_tokens: 5, total_tokens: 326 } })}\n\n`,
      'data: [DONE]\n\n',
    ]);
    expect(pieces).toEqual(['A dog', ' on grass.']);
    expect(reports).toEqual([{ finishReason: 'STOP' }, { usage: { promptTokenCount: 321, candidatesTokenCount: 5 } }]);
  });

  it('reassembles events split across chunks anywhere, with CRLF line ends', async () => {
    const text = delta('héllo').replace(/\n/g, '\r\n') + delta(' wörld', 'stop') + 'data: [DONE]\n\n';
    const split = [...text].reduce<string[]>((acc, ch, i) => (i % 7 === 0 ? [...acc, ch] : [...acc.slice(0, -1), acc.at(-1)! + ch]), []);
    expect((await run(split)).pieces).toEqual(['héllo', ' wörld']);
  });

  it('maps length to MAX_TOKENS and content_filter to SAFETY', async () => {
    expect((await run([delta('cut', 'length'), 'data: [DONE]\n\n'])).reports).toEqual([{ finishReason: 'MAX_TOKENS' }]);
    expect((await run([delta('', 'content_filter'), 'data: [DONE]\n\n'])).reports).toEqual([{ finishReason: 'SAFETY' }]);
    expect(geminiFinishReason('stop')).toBe('STOP');
    expect(geminiFinishReason(null)).toBeUndefined();
  });

  it('an error event mid-stream fails the iterator with the status it names, after the pieces before it', async () => {
    const { error, pieces } = await failure([delta('A'), 'data: {"error":{"message":"CUDA out of memory","type":"InternalServerError","code":500}}\n\n']);
    expect(pieces).toEqual(['A']);
    expect(error.httpStatus).toBe(503);
    expect(error.message).toContain('CUDA out of memory');
    const rejected = await failure(['data: {"error":{"message":"context too long","code":400}}\n\n']);
    expect(rejected.error.httpStatus).toBe(400);
    expect(rejected.error.message).toContain('"vlm"');
  });

  it('a stream that stops without a finish reason or [DONE] is a failure, not a short answer', async () => {
    const { error, pieces } = await failure([delta('A dog')]);
    expect(pieces).toEqual(['A dog']);
    expect(error.httpStatus).toBe(503);
    expect(error.message).toMatch(/ended before it was complete/);
    // With a finish reason and no [DONE] (some servers skip it) the answer is whole.
    expect((await run([delta('A dog', 'stop')])).pieces).toEqual(['A dog']);
  });

  it('an event that is not JSON is a provider failure', async () => {
    expect((await failure(['data: {not json\n\n'])).error.message).toContain('not JSON');
  });
});

describe('error payloads and whole completions', () => {
  it('reads OpenAI, string and status-carrying error shapes', () => {
    expect(errorOfPayload('vlm', { message: 'slow down', code: 429 }).httpStatus).toBe(429);
    expect(errorOfPayload('vlm', { message: 'bad', code: 'invalid_request_error' }).httpStatus).toBe(503);
    expect(errorOfPayload('vlm', 'boom').message).toContain('boom');
    expect(() => readChunk('vlm', { error: { message: 'x', code: 404 } })).toThrow(ProviderError);
  });

  it('reads a non-streaming completion as one chunk', () => {
    expect(
      readChunk('vlm', { choices: [{ message: { role: 'assistant', content: 'Whole answer.' }, finish_reason: 'length' }], usage: { prompt_tokens: 3, completion_tokens: 2 } }),
    ).toEqual({ content: 'Whole answer.', usage: { promptTokenCount: 3, candidatesTokenCount: 2 }, finishReason: 'MAX_TOKENS' });
  });
});
