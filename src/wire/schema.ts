/**
 * Structured-output schemas. Gemini takes its OpenAPI-subset `responseSchema` (upper-case
 * types, `nullable`, `propertyOrdering`), a real JSON Schema in `responseJsonSchema`, or the
 * 2026 `responseFormat` list. All become one JSON Schema, compiled once with Ajv so a bad
 * schema is a 400 at the edge and every answer is checked against it before it is sent.
 */
import { createHash } from 'node:crypto';
import { Ajv, type ValidateFunction } from 'ajv';
import { LRUCache } from 'lru-cache';
import { invalidArgument } from '../errors.js';
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

export interface SchemaValidatorsOptions {
  /** Largest schema accepted, in bytes of its JSON text. Default 1 MiB. */
  maxSchemaBytes?: number;
  /**
   * Budget for kept validators, each counted at 4 bytes per byte of schema text (measured: a
   * compiled validator with its schema and generated code keeps ~2.9× the text on the heap,
   * for schemas of 2,000 properties). Default 64 MiB.
   */
  maxCacheBytes?: number;
}

/**
 * Compiles with Ajv, caching validators by the sha256 of the schema text; a schema Ajv
 * rejects is the client's 400.
 *
 * The client chooses the schema, so nothing here may grow with the number of schemas seen:
 *  - each compile gets its own Ajv instance (2–3 ms to build): Ajv keeps every schema it
 *    compiled (and every `$id`) in its own maps for the life of the instance, which is what
 *    let ~138 different 15 MB schemas take the heap, and two schemas with the same `$id`
 *    would collide;
 *  - the cache is an LRU bounded by bytes, keyed by a hash rather than the text itself;
 *  - a schema over `maxSchemaBytes` is refused before Ajv sees it: compiling generates code
 *    in proportion to the schema and holds the event loop while it does.
 */
export class SchemaValidators {
  private readonly cache: LRUCache<string, ValidateFunction>;
  private readonly maxSchemaBytes: number;

  constructor(opts: SchemaValidatorsOptions = {}) {
    this.maxSchemaBytes = opts.maxSchemaBytes ?? 1024 * 1024;
    this.cache = new LRUCache<string, ValidateFunction>({
      maxSize: opts.maxCacheBytes ?? 64 * 1024 * 1024,
      sizeCalculation: (fn) => sizes.get(fn) ?? 1024,
    });
  }

  /** Bytes the kept validators are counted at (for tests and stats). */
  get cachedBytes(): number {
    return this.cache.calculatedSize;
  }

  compile(schema: JsonSchema): ValidateFunction {
    let text: string;
    try {
      text = JSON.stringify(schema);
    } catch {
      throw invalidArgument('The response schema is nested too deeply to be read.');
    }
    if (text.length > this.maxSchemaBytes)
      throw invalidArgument(
        `The response schema is too large: ${text.length} bytes of JSON, more than the limit of ${this.maxSchemaBytes} bytes.`,
      );
    const key = createHash('sha256').update(text).digest('base64');
    let fn = this.cache.get(key);
    if (!fn) {
      try {
        fn = new Ajv({ allErrors: false, strict: false, validateFormats: false }).compile(schema);
      } catch (err) {
        throw invalidArgument(`Invalid response schema: ${(err as Error).message}`);
      }
      sizes.set(fn, 4 * text.length + 1024);
      this.cache.set(key, fn);
    }
    return fn;
  }
}

/** What each validator is counted at, without adding a property to Ajv's function. */
const sizes = new WeakMap<ValidateFunction, number>();
