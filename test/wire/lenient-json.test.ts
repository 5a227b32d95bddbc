import { describe, expect, it } from 'vitest';
import { JsonDepthError, JsonSyntaxError, MAX_JSON_DEPTH, parseLenientJson, pathDeeperThan } from '../../src/wire/lenient-json.js';

describe('parseLenientJson', () => {
  it('parses strict JSON unchanged', () => {
    expect(parseLenientJson('{"a":[1,2,{"b":"x"}]}')).toEqual({ a: [1, 2, { b: 'x' }] });
  });

  it("accepts the docs' trailing comma before a closing bracket", () => {
    const body = '{"contents":[{"parts":[{"inline_data":{"mime_type":"image/jpeg","data":"AAAA"}},{"text":"Caption this image."},\n]}]}';
    expect(parseLenientJson(body)).toEqual({
      contents: [{ parts: [{ inline_data: { mime_type: 'image/jpeg', data: 'AAAA' } }, { text: 'Caption this image.' }] }],
    });
  });

  it("accepts the docs' single-quoted upload metadata", () => {
    expect(parseLenientJson("{'file': {'display_name': 'IMAGE'}}")).toEqual({ file: { display_name: 'IMAGE' } });
  });

  it('keeps commas and quotes inside strings', () => {
    expect(parseLenientJson(`{'t': "a, ] it's", 'u': 'say "hi",}'}`)).toEqual({ t: "a, ] it's", u: 'say "hi",}' });
  });

  it('rejects garbage', () => {
    expect(() => parseLenientJson('{"a": nope}')).toThrow(JsonSyntaxError);
    expect(() => parseLenientJson('{"a": 1')).toThrow(JsonSyntaxError);
  });

  it('takes nesting up to the limit', () => {
    const deepest = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);
    expect(() => parseLenientJson(deepest)).not.toThrow();
  });

  it('refuses nesting past the limit with a path to where it goes too deep (issue 11: 2,000 levels of [ were a 500)', () => {
    const tooDeep = '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1);
    expect(() => parseLenientJson(tooDeep)).toThrow(JsonDepthError);
    const schema = `{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"responseSchema":${'{"type":"ARRAY","items":'.repeat(5000)}{"type":"STRING"}${'}'.repeat(5000)}}}`;
    let message = '';
    try {
      parseLenientJson(schema);
    } catch (err) {
      expect(err).toBeInstanceOf(JsonDepthError);
      expect(err).toBeInstanceOf(JsonSyntaxError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/^Nesting is deeper than 100 levels at 'generationConfig\.responseSchema(\.items)+'\.$/);
  });

  it('fails cleanly on any depth, balanced or not, also through the lenient path', () => {
    expect(() => parseLenientJson('['.repeat(200_000) + ']'.repeat(200_000))).toThrow(JsonDepthError);
    expect(() => parseLenientJson('['.repeat(200_000))).toThrow(JsonSyntaxError);
    expect(() => parseLenientJson(`{'a': ${'['.repeat(150)}${']'.repeat(150)},}`)).toThrow(JsonDepthError);
  });
});

describe('pathDeeperThan', () => {
  it('names the first container past the limit in Gemini-style path syntax', () => {
    expect(pathDeeperThan({ a: [{ b: 1 }] }, 3)).toBeUndefined();
    expect(pathDeeperThan({ a: [{ b: [] }] }, 3)).toBe('a[0].b');
    expect(pathDeeperThan([[[1]]], 2)).toBe('[0][0]');
    expect(pathDeeperThan({}, 0)).toBe('(the body)');
    expect(pathDeeperThan('scalar', 0)).toBeUndefined();
  });
});
