import { describe, expect, it } from 'vitest';
import { geminiSchemaToJsonSchema, responseJsonSchemaOf, SchemaValidators } from '../../src/wire/schema.js';

describe('structured output schemas', () => {
  it("converts Gemini's Schema to JSON Schema", () => {
    const js = geminiSchemaToJsonSchema({
      type: 'ARRAY',
      minItems: '1',
      items: {
        type: 'OBJECT',
        properties: { box_2d: { type: 'ARRAY', items: { type: 'INTEGER' } }, label: { type: 'STRING', nullable: true } },
        required: ['box_2d'],
        propertyOrdering: ['box_2d', 'label'],
      },
    });
    expect(js).toEqual({
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        properties: { box_2d: { type: 'array', items: { type: 'integer' } }, label: { type: ['string', 'null'] } },
        required: ['box_2d'],
      },
    });
    const validate = new SchemaValidators().compile(js);
    expect(validate([{ box_2d: [1, 2, 3, 4], label: null }])).toBe(true);
    expect(validate([{ label: 'x' }])).toBe(false);
  });

  it('rejects an unknown type and two schemas at once', () => {
    expect(() => geminiSchemaToJsonSchema({ type: 'TUPLE' })).toThrow(/response_schema.type/);
    expect(() => responseJsonSchemaOf({ responseSchema: { type: 'STRING' }, responseJsonSchema: { type: 'string' } })).toThrow(/Only one/);
  });

  it('passes responseJsonSchema through untouched', () => {
    const s = { type: 'object', properties: { a_b: { type: 'string' } } };
    expect(responseJsonSchemaOf({ responseJsonSchema: s })).toBe(s);
  });
});
