/**
 * generationConfig's limits on the answer, applied to the engine's pieces as they stream:
 * `stopSequences` end the answer before the first match (finishReason STOP, the sequence
 * itself not included, as Gemini does), `maxOutputTokens` cuts it at that many tokens
 * (finishReason MAX_TOKENS). A tail as long as the longest stop sequence is held back
 * so a match split across two pieces is still found.
 */
import type { TextTokenCounter } from '../media/text-tokens.js';

export type FinishReason = 'STOP' | 'MAX_TOKENS';

export interface OutputLimits {
  stopSequences?: string[] | undefined;
  maxOutputTokens?: number | undefined;
}

export interface LimitedOutput {
  pieces: AsyncIterable<string>;
  /** Valid once `pieces` is exhausted. */
  finishReason(): FinishReason;
}

export function limitOutput(source: AsyncIterable<string>, limits: OutputLimits, tokens: TextTokenCounter): LimitedOutput {
  let finish: FinishReason = 'STOP';
  const stops = (limits.stopSequences ?? []).filter((s) => s.length > 0);
  const holdBack = stops.reduce((m, s) => Math.max(m, s.length - 1), 0);
  const max = limits.maxOutputTokens;

  async function* run(): AsyncGenerator<string> {
    let emitted = '';
    let pending = '';
    const emit = function* (text: string): Generator<string> {
      if (!text) return;
      emitted += text;
      yield text;
    };
    /** Returns the text allowed out of `candidate` and whether the token budget ended it. */
    const fitTokens = (candidate: string): [string, boolean] => {
      if (max === undefined || tokens.count(emitted + candidate) <= max) return [candidate, false];
      // Longest prefix that still fits, by binary search over characters.
      let lo = 0;
      let hi = candidate.length;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (tokens.count(emitted + candidate.slice(0, mid)) <= max) lo = mid;
        else hi = mid - 1;
      }
      return [candidate.slice(0, lo), true];
    };

    for await (const piece of source) {
      pending += piece;
      let stopAt = -1;
      for (const s of stops) {
        const at = pending.indexOf(s);
        if (at >= 0 && (stopAt < 0 || at < stopAt)) stopAt = at;
      }
      const ready = stopAt >= 0 ? pending.slice(0, stopAt) : pending.slice(0, pending.length - holdBack);
      pending = stopAt >= 0 ? '' : pending.slice(ready.length);
      const [allowed, cut] = fitTokens(ready);
      yield* emit(allowed);
      if (cut) {
        finish = 'MAX_TOKENS';
        return;
      }
      if (stopAt >= 0) return;
    }
    const [allowed, cut] = fitTokens(pending);
    yield* emit(allowed);
    if (cut) finish = 'MAX_TOKENS';
  }

  return { pieces: run(), finishReason: () => finish };
}
