import { describe, expect, it } from 'vitest';
import { JsonSyntaxError, parseLenientJson } from '../../src/wire/lenient-json.js';

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
});
