/**
 * The request-size policy for text, applied before anything is tokenised: Gemini refuses a
 * prompt over the model's input limit (1,048,576 tokens for 2.x/3 flash) with a 400, and so
 * do we, naming the largest text part.
 *
 * Order of work, cheapest first, so a huge text costs milliseconds and never holds the
 * event loop:
 *  1. the character estimate (`estimateTextTokensAsync`, sliced), refused at twice the
 *     limit: the estimate is within ~10 % on prose but can be several times too high on
 *     runs of whitespace, so only a clear excess is refused unseen;
 *  2. the exact count of every long text with `countAsync` (chunked, yielding), stopped as
 *     soon as the running total passes the limit; the counts land in the counter's cache, so
 *     the synchronous counts that follow (countTokens, usageMetadata) are cache hits.
 *
 * The texts are found in the raw body (after JSON parsing, before the wire schema), as the
 * string values of every `text` key: parts of `contents`, `systemInstruction` and
 * `generateContentRequest`, in whichever key spelling the client used. The walk is
 * iterative, so deep nesting cannot overflow the stack.
 */
import { countTextAsync, estimateTextTokensAsync, type TextTokenCounter } from '../media/text-tokens.js';
import { invalidArgument } from '../errors.js';

export interface TextPart {
  /** Where it is in the body, e.g. `contents[0].parts[1].text`. */
  label: string;
  text: string;
}

/** Below this many characters in all, the whole check is skipped: counting them costs < ~10 ms. */
const SMALL_TOTAL = 2048;

/** Every string under a `text` key, with its path; objects and arrays only, nothing else is read. */
export function textPartsOf(body: unknown): TextPart[] {
  const out: TextPart[] = [];
  const stack: Array<{ value: unknown; path: string }> = [{ value: body, path: '' }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: `${path}[${i}]` });
      continue;
    }
    const entries = Object.entries(value as Record<string, unknown>);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, v] = entries[i]!;
      const at = path ? `${path}.${key}` : key;
      if (key === 'text' && typeof v === 'string') out.push({ label: at, text: v });
      else if (v !== null && typeof v === 'object') stack.push({ value: v, path: at });
    }
  }
  return out;
}

const overLimit = (count: number, limit: number, largest: TextPart, estimated: boolean): Error =>
  invalidArgument(
    `The input token count (${estimated ? 'estimated at ' : ''}${count}) exceeds the maximum number of tokens allowed (${limit}). ` +
      `The largest text is ${largest.label} (${largest.text.length} characters).`,
    largest.label,
  );

/**
 * Throws 400 INVALID_ARGUMENT when the body's texts exceed `inputTokenLimit`; otherwise the
 * long texts have been counted exactly (and cached in `counter`). Images are not counted
 * here: their tokens are bounded by the image limits.
 */
export async function checkTextBudget(body: unknown, inputTokenLimit: number, counter: TextTokenCounter): Promise<void> {
  const parts = textPartsOf(body);
  if (parts.length === 0) return;
  const largest = parts.reduce((a, b) => (b.text.length > a.text.length ? b : a));
  if (parts.reduce((n, p) => n + p.text.length, 0) <= SMALL_TOTAL) return;

  let estimate = 0;
  for (const p of parts) estimate += await estimateTextTokensAsync(p.text);
  if (estimate > 2 * inputTokenLimit) throw overLimit(estimate, inputTokenLimit, largest, true);

  // Many short parts add up too (10,000 parts of 2 KB fit in a 20 MB body): all are counted
  // here, with a yield every ~10 ms, so the later synchronous pass only reads the cache.
  let exact = 0;
  let since = performance.now();
  for (const p of parts) {
    exact += await countTextAsync(counter, p.text);
    if (exact > inputTokenLimit) throw overLimit(exact, inputTokenLimit, largest, false);
    if (performance.now() - since > 10) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      since = performance.now();
    }
  }
}
