import { describe, expect, it, vi } from 'vitest';
import {
  CachedTextTokenCounter,
  GemmaTextTokenCounter,
  chunkText,
  estimateTextTokens,
  estimateTextTokensAsync,
  splitRulesOf,
} from '../../src/media/text-tokens.js';

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

describe('chunked counting (exact, and never one long encode)', () => {
  const counter = new GemmaTextTokenCounter();
  // Seeded texts that mix what could go wrong at a cut: spaces and space runs, newline runs
  // (added tokens), special-token spellings, CJK, emoji with modifiers (surrogate pairs),
  // combining marks, digits, base64-like runs with few safe cuts.
  let seed = 11;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const gen = (n: number, alphabet: string[]) => {
    let s = '';
    while (s.length < n) s += alphabet[Math.floor(rnd() * alphabet.length)];
    return s;
  };
  const samples: Record<string, string> = {
    prose: gen(6000, ['the ', 'quick ', 'brown ', 'fox ', 'jumps ', 'over ', '. ', ', ', '\n', '\n\n', '  ', '42 ', '1999. ', 'Über ', "don't "]),
    cjk: gen(3000, ['这是', '什么', '日本語の', 'テキスト', '。', '，', '我们', '图片', '中', ' ', '\n', '한국어']),
    code: gen(5000, ['function ', 'foo', '(x) ', '{', '}', ';\n', '  ', '    return ', 'x + 1', '=>', '===', '\t', '"s"', '<start_of_image>', '<b>', '</div>']),
    emoji: gen(3000, ['🐕', '🐶', ' dog ', '👍🏽', 'é', 'ß', ' ', '\u0301', 'a', '\n\n\n']),
    whitespace: gen(5000, [' ', '  ', '     ', 'a', '\n', '\t', '\r\n']),
    base64: gen(5000, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('')),
  };

  it.each(Object.keys(samples))('%s: the chunked count equals the one-piece count', async (name) => {
    await counter.load();
    const text = samples[name]!;
    const whole = counter.countUnchunked(text);
    expect(counter.count(text)).toBe(whole);
    expect(await counter.countAsync(text)).toBe(whole);
  });

  it('countAsync lets the event loop run while it counts a long text', async () => {
    await counter.load();
    const text = samples.prose!.repeat(20); // 120 K characters, ~1 s of encoding on one core
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      expect(await counter.countAsync(text)).toBe(counter.count(text));
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
  });

  it('chunkText: pieces join back to the text, never cut a surrogate pair, and stay under the maximum', () => {
    const rules = splitRulesOf(['ab', 'bc', '▁x']);
    const text = 'abcabc x '.repeat(200) + '🐕'.repeat(300);
    const pieces = chunkText(text, rules, 10, 40);
    expect(pieces.join('')).toBe(text);
    for (const p of pieces) {
      expect(p.length).toBeLessThanOrEqual(41);
      expect(/^[\udc00-\udfff]/.test(p)).toBe(false);
    }
    // "a|b" and "b|c" and " |x" are joined pairs: no piece may start with b, c or x after a, b, space.
    for (let i = 1; i < pieces.length; i++) {
      const pair = pieces[i - 1]!.slice(-1) + pieces[i]![0];
      expect(['ab', 'bc', ' x']).not.toContain(pair);
    }
  });
});

describe('estimateTextTokensAsync', () => {
  it('agrees with estimateTextTokens', async () => {
    for (const t of ['', 'Hello, world!', '这是什么？', '🐕🐶 dog', 'a'.repeat(5000) + '日本'.repeat(100)])
      expect(await estimateTextTokensAsync(t, 7)).toBe(estimateTextTokens(t));
  });
});

describe('CachedTextTokenCounter', () => {
  it('returns the inner counts, counting each text once', async () => {
    let calls = 0;
    const inner = { count: (t: string) => (calls++, t.length) };
    const c = new CachedTextTokenCounter(inner);
    expect([c.count('abc'), c.count('abc'), c.count('de')]).toEqual([3, 3, 2]);
    expect(calls).toBe(2);
    const long = 'x'.repeat(10_000);
    expect(await c.countAsync(long)).toBe(10_000);
    expect(c.count(long)).toBe(10_000); // found again by the synchronous count
    expect(calls).toBe(3);
  });

  it('is bounded by bytes: long texts cost a hash key, and old entries go', () => {
    const inner = { count: (t: string) => t.length };
    const c = new CachedTextTokenCounter(inner, { maxBytes: 64 * 1024 });
    for (let i = 0; i < 2000; i++) c.count(`${i} `.padEnd(100_000, 'y')); // 2000 distinct 100 K texts
    expect(c.bytes).toBeLessThanOrEqual(64 * 1024);
    for (let i = 0; i < 2000; i++) c.count(`${i} `.padEnd(200, 'z')); // short texts are their own keys
    expect(c.bytes).toBeLessThanOrEqual(64 * 1024);
  });
});
