/**
 * Structured-output schemas. Gemini takes its OpenAPI-subset `responseSchema` (upper-case
 * types, `nullable`, `propertyOrdering`), a real JSON Schema in `responseJsonSchema`, or the
 * 2026 `responseFormat` list. All become one JSON Schema, compiled once with Ajv so a bad
 * schema is a 400 at the edge and every answer is checked against it before it is sent.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { invalidArgument } from '../server/errors.js';
import type { GenerationConfig } from './request.js';

export type JsonSchema = Record<string, unknown>;

const TYPES = new Set(['STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT', 'NULL']);

/** Gemini `Schema` → JSON Schema. Throws 400 naming the offending path. */
export function geminiSchemaToJsonSchema(schema: Record<string, unknown>, path = 'generation_config.response_schema'): JsonSchema {
  const out: JsonSchema = {};
  const type = schema.type;
  if (type !== undefined) {
    if (typeof type !== 'string' || !TYPES.has(type.toUpperCase()))
      throw invalidArgument(`Invalid value at '${path}.type': "${String(type)}" is not a Schema type.`, `${path}.type`);
    const t = type.toLowerCase();
    out.type = schema.nullable === true ? [t, 'null'] : t;
  }
  for (const key of ['format', 'title', 'description', 'enum', 'pattern', 'minimum', 'maximum', 'default', 'example'] as const) {
    if (schema[key] !== undefined) out[key === 'example' ? 'examples' : key] = key === 'example' ? [schema[key]] : schema[key];
  }
  for (const key of ['minItems', 'maxItems', 'minLength', 'maxLength', 'minProperties', 'maxProperties'] as const) {
    if (schema[key] !== undefined) out[key] = Number(schema[key]);
  }
  if (schema.required !== undefined) out.required = schema.required;
  if (schema.items !== undefined) out.items = geminiSchemaToJsonSchema(asObject(schema.items, `${path}.items`), `${path}.items`);
  if (schema.properties !== undefined) {
    const props = asObject(schema.properties, `${path}.properties`);
    out.properties = Object.fromEntries(
      Object.entries(props).map(([k, v]) => [k, geminiSchemaToJsonSchema(asObject(v, `${path}.properties.${k}`), `${path}.properties.${k}`)]),
    );
  }
  if (schema.anyOf !== undefined) {
    if (!Array.isArray(schema.anyOf)) throw invalidArgument(`Invalid value at '${path}.any_of': expected a list.`);
    out.anyOf = schema.anyOf.map((s, i) => geminiSchemaToJsonSchema(asObject(s, `${path}.any_of[${i}]`), `${path}.any_of[${i}]`));
  }
  return out;
}

function asObject(v: unknown, path: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalidArgument(`Invalid value at '${path}': expected a Schema object.`, path);
  return v as Record<string, unknown>;
}

/** The one JSON Schema the answer must satisfy, if the config asks for structured output. */
export function responseJsonSchemaOf(config: GenerationConfig | undefined): JsonSchema | undefined {
  if (!config) return undefined;
  const given = [config.responseSchema, config.responseJsonSchema, config.responseFormat].filter((v) => v !== undefined);
  if (given.length > 1)
    throw invalidArgument('Only one of response_schema, response_json_schema and response_format may be set.');
  if (config.responseSchema) return geminiSchemaToJsonSchema(config.responseSchema);
  if (config.responseJsonSchema !== undefined) {
    const s = config.responseJsonSchema;
    if (s === null || typeof s !== 'object' || Array.isArray(s))
      throw invalidArgument("Invalid value at 'generation_config.response_json_schema': expected a JSON Schema object.");
    return s as JsonSchema;
  }
  if (config.responseFormat) {
    const text = config.responseFormat[0]?.text as Record<string, unknown> | undefined;
    const schema = text?.schema;
    return schema && typeof schema === 'object' ? (schema as JsonSchema) : undefined;
  }
  return undefined;
}

/** Compiles with Ajv (cached per schema text); a schema Ajv rejects is the client's 400. */
export class SchemaValidators {
  private readonly ajv = new Ajv({ allErrors: false, strict: false, validateFormats: false });
  private readonly cache = new Map<string, ValidateFunction>();

  compile(schema: JsonSchema): ValidateFunction {
    const key = JSON.stringify(schema);
    let fn = this.cache.get(key);
    if (!fn) {
      try {
        fn = this.ajv.compile(schema);
      } catch (err) {
        throw invalidArgument(`Invalid response schema: ${(err as Error).message}`);
      }
      if (this.cache.size > 500) this.cache.clear();
      this.cache.set(key, fn);
    }
    return fn;
  }
}
