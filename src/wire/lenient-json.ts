/**
 * JSON as Gemini's front end accepts it. Google's own curl samples send trailing commas
 * (`{"text": "…"},\n]`) and single-quoted pseudo-JSON (`{'file': {'display_name': 'X'}}`),
 * and the real API takes both. Strict JSON.parse runs first (fast path for SDK traffic);
 * only when it fails is the text rewritten by one linear scan and parsed again.
 *
 * Nesting is bounded here, at the one door every client body comes through: V8's JSON.parse
 * takes any depth, but everything after it (key normalisation, schema conversion, zod, Ajv)
 * walks the value recursively, and 2,000 levels of `[` used to overflow the stack (500).
 */

export class JsonSyntaxError extends Error {}

/** Nested deeper than the limit; the message names where. */
export class JsonDepthError extends JsonSyntaxError {}

/**
 * Deepest nesting of arrays and objects a body may have. Gemini's front end parses JSON into
 * protobuf messages, whose parser stops at 100 levels; a real request is far shallower (a
 * response schema 40 levels deep is still 80 here).
 */
export const MAX_JSON_DEPTH = 100;

export function parseLenientJson(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (strictError) {
    const repaired = repairJson(text);
    try {
      value = JSON.parse(repaired);
    } catch {
      throw new JsonSyntaxError(describe(strictError));
    }
  }
  const tooDeep = pathDeeperThan(value, maxDepth);
  if (tooDeep !== undefined)
    throw new JsonDepthError(`Nesting is deeper than ${maxDepth} levels at '${tooDeep}'.`);
  return value;
}

interface Frame {
  value: unknown;
  depth: number;
  parent: Frame | undefined;
  key: string | number | undefined;
}

/**
 * The path (`contents[0].parts`) of the first array or object nested deeper than `max`, or
 * undefined. Iterative, so it is safe on any input; paths are built only for the answer.
 */
export function pathDeeperThan(root: unknown, max: number): string | undefined {
  const stack: Frame[] = [{ value: root, depth: 0, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const { value } = frame;
    if (value === null || typeof value !== 'object') continue;
    const depth = frame.depth + 1;
    if (depth > max) return pathOf(frame);
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], depth, parent: frame, key: i });
    } else {
      const keys = Object.keys(value);
      for (let i = keys.length - 1; i >= 0; i--)
        stack.push({ value: (value as Record<string, unknown>)[keys[i]!], depth, parent: frame, key: keys[i] });
    }
  }
  return undefined;
}

function pathOf(frame: Frame): string {
  const segs: Array<string | number> = [];
  for (let f: Frame | undefined = frame; f && f.key !== undefined; f = f.parent) segs.push(f.key);
  segs.reverse();
  const path = segs
    .map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i === 0 ? '' : '.'}${k.length > 64 ? `${k.slice(0, 64)}…` : k}`))
    .join('');
  return path || '(the body)';
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
