import { describe, expect, it } from 'vitest';
import { checkTextBudget, textPartsOf } from '../../src/generate/text-budget.js';
import { ApiError } from '../../src/errors.js';
import type { TextTokenCounter } from '../../src/media/text-tokens.js';

/** Counts one token per character and records what it was asked. */
function recordingCounter() {
  const seen: string[] = [];
  const counter: TextTokenCounter & { seen: string[] } = {
    seen,
    count: (t) => (seen.push(`sync:${t.length}`), t.length),
    countAsync: async (t) => (seen.push(`async:${t.length}`), t.length),
  };
  return counter;
}

describe('textPartsOf', () => {
  it('finds every text string with its path, whatever the key spelling, and nothing else', () => {
    const body = {
      contents: [{ parts: [{ text: 'a' }, { inline_data: { data: 'AAAA', mime_type: 'image/png' } }, { text: 'b' }] }],
      system_instruction: { parts: [{ text: 'sys' }] },
      generationConfig: { responseFormat: [{ text: { schema: { type: 'string' } } }] },
    };
    expect(textPartsOf(body)).toEqual([
      { label: 'contents[0].parts[0].text', text: 'a' },
      { label: 'contents[0].parts[2].text', text: 'b' },
      { label: 'system_instruction.parts[0].text', text: 'sys' },
    ]);
  });

  it('walks deep nesting without recursion', () => {
    let deep: unknown = { text: 'x' };
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(textPartsOf({ contents: deep })).toHaveLength(1);
  });
});

describe('checkTextBudget', () => {
  it('refuses a text far over the limit from the estimate alone, naming the part, without tokenising it', async () => {
    const counter = recordingCounter();
    const body = { contents: [{ parts: [{ text: 'short' }, { text: 'word '.repeat(3_000_000) }] }] }; // 15 MB
    const err = await checkTextBudget(body, 1_048_576, counter).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).httpStatus).toBe(400);
    expect((err as ApiError).status).toBe('INVALID_ARGUMENT');
    expect((err as ApiError).message).toMatch(/exceeds the maximum number of tokens allowed \(1048576\)/);
    expect((err as ApiError).message).toContain('contents[0].parts[1].text (15000000 characters)');
    expect(counter.seen).toEqual([]);
  });

  it('refuses an exact count over the limit, stopping at the first part that passes it', async () => {
    const counter = recordingCounter();
    const body = { contents: [{ parts: [{ text: 'a'.repeat(3000) }, { text: 'b'.repeat(3000) }, { text: 'c'.repeat(3000) }] }] };
    // 9000 characters estimate to 2250 tokens, under twice 5000; the exact count (1 per character) is over.
    const err = (await checkTextBudget(body, 5000, counter).catch((e: unknown) => e)) as ApiError;
    expect(err.httpStatus).toBe(400);
    expect(err.message).toMatch(/^The input token count \(6000\) exceeds the maximum number of tokens allowed \(5000\)/);
    expect(counter.seen).toEqual(['async:3000', 'async:3000']);
  });

  it('counts every text asynchronously when the request is large, so the later synchronous counts are cache hits', async () => {
    const counter = recordingCounter();
    const body = { contents: [{ parts: [{ text: 'x'.repeat(5000) }, { text: 'hi' }] }] };
    await checkTextBudget(body, 1_048_576, counter);
    expect(counter.seen).toEqual(['async:5000', 'async:2']);
  });

  it('does nothing for small requests', async () => {
    const counter = recordingCounter();
    await checkTextBudget({ contents: [{ parts: [{ text: 'Caption this image.' }] }] }, 1_048_576, counter);
    expect(counter.seen).toEqual([]);
  });
});
