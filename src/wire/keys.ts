/**
 * Key-case normalisation. The Python SDK sends camelCase at the top and snake_case in
 * nested pass-through objects (thinkingConfig, mediaResolution, the file-create body);
 * the docs' curl samples send snake_case throughout. We rewrite every key to camelCase
 * before validation, except inside containers whose keys belong to the user: property
 * names of a response schema, a JSON Schema, function arguments.
 */

export const snakeToCamel = (key: string): string => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export const camelToSnake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Where user-owned keys live, by the camelCase key of the container. */
type Rule = 'keep' | 'schema' | 'mapOfSchemas';
const CONTAINERS: Record<string, Rule> = {
  // Real JSON Schema documents: every key is the user's, pass through untouched.
  responseJsonSchema: 'keep',
  parametersJsonSchema: 'keep',
  responseJsonSchemaOutput: 'keep',
  // Free-form user payloads.
  args: 'keep',
  response: 'keep',
  partMetadata: 'keep',
  labels: 'keep',
  metadata: 'keep',
  // Gemini's OpenAPI-subset Schema: normalise its keywords but not property names.
  responseSchema: 'schema',
  parameters: 'schema',
  schema: 'schema',
};

export function normaliseKeys(value: unknown): unknown {
  return normalise(value, undefined);
}

function normalise(value: unknown, rule: Rule | undefined): unknown {
  if (Array.isArray(value)) return value.map((v) => normalise(v, rule === 'mapOfSchemas' ? 'schema' : rule));
  if (value === null || typeof value !== 'object') return value;
  if (rule === 'keep') return value;
  const out: Record<string, unknown> = {};
  for (const [rawKey, child] of Object.entries(value as Record<string, unknown>)) {
    if (rule === 'mapOfSchemas') {
      out[rawKey] = normalise(child, 'schema');
      continue;
    }
    const key = snakeToCamel(rawKey);
    let childRule: Rule | undefined;
    if (rule === 'schema') {
      // Inside a Schema: `properties` maps user names to Schemas; `items`/`anyOf` hold Schemas.
      childRule = key === 'properties' ? 'mapOfSchemas' : key === 'items' || key === 'anyOf' ? 'schema' : undefined;
      if (key === 'example' || key === 'default' || key === 'enum' || key === 'required' || key === 'propertyOrdering')
        childRule = 'keep';
    } else {
      childRule = CONTAINERS[key];
    }
    out[key] = normalise(child, childRule);
  }
  return out;
}
