import { describe, expect, it } from 'vitest';
import { limitOutput } from '../../src/generate/output-limits.js';

// One token per word: easy to reason about in tests.
const words = { count: (t: string) => t.split(/\s+/).filter(Boolean).length };

async function* pieces(...p: string[]) {
  yield* p;
}
async function run(limits: Parameters<typeof limitOutput>[1], ...p: string[]) {
  const out = limitOutput(pieces(...p), limits, words);
  let text = '';
  for await (const x of out.pieces) text += x;
  return { text, finish: out.finishReason() };
}

describe('limitOutput', () => {
  it('passes text through with STOP', async () => {
    expect(await run({}, 'a b ', 'c')).toEqual({ text: 'a b c', finish: 'STOP' });
  });
  it('stops before a stop sequence split across pieces', async () => {
    expect(await run({ stopSequences: ['END'] }, 'one two E', 'ND three')).toEqual({ text: 'one two ', finish: 'STOP' });
  });
  it('cuts at maxOutputTokens with MAX_TOKENS', async () => {
    const r = await run({ maxOutputTokens: 3 }, 'one two ', 'three four five');
    expect(r.finish).toBe('MAX_TOKENS');
    expect(words.count(r.text)).toBe(3);
    expect(r.text.startsWith('one two three')).toBe(true);
  });
});
