/**
 * JSON as Gemini's front end accepts it. Google's own curl samples send trailing commas
 * (`{"text": "…"},\n]`) and single-quoted pseudo-JSON (`{'file': {'display_name': 'X'}}`),
 * and the real API takes both. Strict JSON.parse runs first (fast path for SDK traffic);
 * only when it fails is the text rewritten by one linear scan and parsed again.
 */

export class JsonSyntaxError extends Error {}

export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (strictError) {
    const repaired = repairJson(text);
    try {
      return JSON.parse(repaired);
    } catch {
      throw new JsonSyntaxError(describe(strictError));
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Rewrites single-quoted strings to double-quoted ones and drops commas that stand
 * right before a closing bracket or brace. Everything inside strings is left alone.
 */
export function repairJson(text: string): string {
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i]!;
    if (ch === '"' || ch === "'") {
      const end = scanString(text, i, ch);
      const body = text.slice(i + 1, end);
      out += ch === '"' ? `"${body}"` : `"${body.replace(/\\'/g, "'").replace(/(^|[^\\])"/g, '$1\\"')}"`;
      i = end + 1;
      continue;
    }
    if (ch === ',') {
      let j = i + 1;
      while (j < n && /\s/.test(text[j]!)) j++;
      if (text[j] === ']' || text[j] === '}') {
        i++;
        continue;
      }
    }
    out += ch;
    i++;
  }
  return out;
}

/** Index of the quote that closes the string opened at `start`, or the text's end. */
function scanString(text: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '\\') i += 2;
    else if (ch === quote) return i;
    else i++;
  }
  return text.length;
}
