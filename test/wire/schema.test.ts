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

describe('SchemaValidators (client-chosen schemas, bounded memory)', () => {
  const schemaWith = (i: number, pad = 0) => ({
    type: 'object',
    properties: { [`p${i}`]: { type: 'string', description: 'd'.repeat(pad) } },
    required: [`p${i}`],
  });

  it('reuses the validator of a schema it has seen, whatever object carries it', () => {
    const v = new SchemaValidators();
    expect(v.compile(schemaWith(1))).toBe(v.compile(JSON.parse(JSON.stringify(schemaWith(1)))));
  });

  it('keeps its cache under the byte budget however many different schemas arrive', () => {
    const v = new SchemaValidators({ maxCacheBytes: 2 * 1024 * 1024 });
    for (let i = 0; i < 120; i++) {
      const validate = v.compile(schemaWith(i, 20_000));
      expect(validate({ [`p${i}`]: 'x' })).toBe(true);
      expect(validate({})).toBe(false);
    }
    expect(v.cachedBytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(v.cachedBytes).toBeGreaterThan(0);
  });

  it('compiles two different schemas with the same $id (one Ajv per schema, nothing kept in Ajv)', () => {
    const v = new SchemaValidators();
    const a = v.compile({ $id: 'https://example.com/s', type: 'string' });
    const b = v.compile({ $id: 'https://example.com/s', type: 'number' });
    expect([a('x'), b('x'), b(1)]).toEqual([true, false, true]);
  });

  it('refuses a schema over the size limit with a 400 before compiling it', () => {
    const v = new SchemaValidators({ maxSchemaBytes: 10_000 });
    expect(() => v.compile(schemaWith(1, 20_000))).toThrow(/response schema is too large: \d+ bytes of JSON, more than the limit of 10000 bytes/);
  });

  it('an invalid schema is a 400 naming Ajv’s reason', () => {
    expect(() => new SchemaValidators().compile({ type: 'object', properties: { a: { type: 'nonsense' } } })).toThrow(/Invalid response schema/);
  });
});
