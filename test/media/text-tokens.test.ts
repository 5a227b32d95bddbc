import { describe, expect, it, vi } from 'vitest';
import { GemmaTextTokenCounter, estimateTextTokens } from '../../src/media/text-tokens.js';

describe('GemmaTextTokenCounter (the real Gemma 3 tokenizer)', () => {
  // One instance for the file: building the tokenizer takes about a second.
  const counter = new GemmaTextTokenCounter();

  it('loads in the background and reports ready', async () => {
    expect(counter.status.state).toBe('unloaded');
    await counter.load();
    expect(counter.status.state).toBe('ready');
  });

  it.each([
    ['', 0],
    ['Hello, world!', 4],
    ['What is in this image?', 6],
    ['Describe the dog in detail.', 6],
    ['The quick brown fox jumps over the lazy dog.', 10],
    ['这是什么？', 3],
    ['日本語のテキスト', 3],
  ])('%j is %i tokens', (text, tokens) => {
    expect(counter.count(text)).toBe(tokens);
  });

  it('loads synchronously on the first count if load() was never called', () => {
    const lazy = new GemmaTextTokenCounter();
    expect(lazy.count('Hello, world!')).toBe(4);
    expect(lazy.status.state).toBe('ready');
  });
});

describe('fallback estimate', () => {
  it('counts ~4 characters per token for Latin text and 1 per CJK character', () => {
    expect(estimateTextTokens('')).toBe(0);
    expect(estimateTextTokens('Hello, world!')).toBe(4); // 13 chars
    expect(estimateTextTokens('The quick brown fox jumps over the lazy dog.')).toBe(11); // real: 10
    expect(estimateTextTokens('这是什么？')).toBe(5); // real: 3
    expect(estimateTextTokens('🐕🐶')).toBe(2);
  });

  it('is used when the tokenizer cannot load, and the failure is reported once', async () => {
    const onLoadError = vi.fn();
    const broken = new GemmaTextTokenCounter({
      files: { tokenizerJson: '/nonexistent/tokenizer.json', tokenizerConfigJson: '/nonexistent/tokenizer_config.json' },
      onLoadError,
    });
    await broken.load();
    expect(broken.status.state).toBe('fallback');
    expect(broken.count('Hello, world!')).toBe(4);
    expect(broken.count('这是什么？')).toBe(5);
    expect(onLoadError).toHaveBeenCalledTimes(1);
  });
});

describe('CachedTextTokenCounter', () => {
  it('returns the inner counts, counting each short text once, and evicts the oldest', async () => {
    const { CachedTextTokenCounter } = await import('../../src/media/text-tokens.js');
    let calls = 0;
    const inner = { count: (t: string) => (calls++, t.length) };
    const c = new CachedTextTokenCounter(inner, 2, 10);
    expect([c.count('abc'), c.count('abc'), c.count('de')]).toEqual([3, 3, 2]);
    expect(calls).toBe(2);
    c.count('fgh'); // evicts 'abc'
    c.count('abc');
    expect(calls).toBe(4);
    c.count('x'.repeat(11)); // too long to keep
    c.count('x'.repeat(11));
    expect(calls).toBe(6);
  });
});
