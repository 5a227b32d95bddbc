/**
 * GenerateContentRequest and CountTokensRequest as they arrive on the wire, validated at
 * the edge. Keys are normalised to camelCase first (keys.ts); numbers may come as floats
 * or strings ("topK": 40.0, "maxOutputTokens": "128"); unknown fields are rejected with
 * Gemini's own message, which names the field as the client spelled it.
 */
import { z } from 'zod';
import { invalidArgument, type ApiError } from '../errors.js';
import { camelToSnake, normaliseKeys, snakeToCamel } from './keys.js';

const numberLike = (v: unknown): unknown =>
  typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
const num = () => z.preprocess(numberLike, z.number());
const int = () => z.preprocess(numberLike, z.number().int());

const blob = z.strictObject({ mimeType: z.string().optional(), data: z.string(), displayName: z.string().optional() });
const fileData = z.strictObject({
  mimeType: z.string().optional(),
  fileUri: z.string().min(1),
  displayName: z.string().optional(),
});
const PART_LEVELS = [
  'MEDIA_RESOLUTION_UNSPECIFIED',
  'MEDIA_RESOLUTION_LOW',
  'MEDIA_RESOLUTION_MEDIUM',
  'MEDIA_RESOLUTION_HIGH',
  'MEDIA_RESOLUTION_ULTRA_HIGH',
] as const;
const anyObject = z.record(z.string(), z.unknown());

const part = z
  .strictObject({
    text: z.string().optional(),
    inlineData: blob.optional(),
    fileData: fileData.optional(),
    thought: z.boolean().optional(),
    thoughtSignature: z.string().optional(),
    functionCall: anyObject.optional(),
    functionResponse: anyObject.optional(),
    executableCode: anyObject.optional(),
    codeExecutionResult: anyObject.optional(),
    videoMetadata: anyObject.optional(),
    mediaResolution: z
      .strictObject({ level: z.enum(PART_LEVELS).optional(), numTokens: int().optional() })
      .optional(),
    partMetadata: anyObject.optional(),
  })
  .superRefine((p, ctx) => {
    const kinds = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse', 'executableCode', 'codeExecutionResult'].filter(
      (k) => (p as Record<string, unknown>)[k] !== undefined,
    );
    if (kinds.length === 0)
      ctx.addIssue({ code: 'custom', message: 'Part must have one data field (text, inlineData or fileData).' });
    if (kinds.length > 1)
      ctx.addIssue({ code: 'custom', message: `Part must have exactly one data field, but has ${kinds.join(' and ')}.` });
  });

const content = z.strictObject({
  role: z.string().optional(),
  parts: z.array(part).min(1, 'contents.parts must not be empty.'),
});

const schemaObject = anyObject; // Gemini Schema / JSON Schema: validated where it is used.

const thinkingConfig = z.strictObject({
  thinkingBudget: int().optional(),
  includeThoughts: z.boolean().optional(),
  thinkingLevel: z.enum(['THINKING_LEVEL_UNSPECIFIED', 'MINIMAL', 'LOW', 'MEDIUM', 'HIGH']).optional(),
});

export const MEDIA_RESOLUTIONS = [
  'MEDIA_RESOLUTION_UNSPECIFIED',
  'MEDIA_RESOLUTION_LOW',
  'MEDIA_RESOLUTION_MEDIUM',
  'MEDIA_RESOLUTION_HIGH',
] as const;

const generationConfig = z.strictObject({
  temperature: num().optional(),
  topP: num().optional(),
  topK: num().optional(),
  seed: int().optional(),
  candidateCount: int().optional(),
  maxOutputTokens: int().optional(),
  stopSequences: z.array(z.string()).max(5, 'stopSequences allows at most 5 entries.').optional(),
  presencePenalty: num().optional(),
  frequencyPenalty: num().optional(),
  responseLogprobs: z.boolean().optional(),
  logprobs: int().optional(),
  responseMimeType: z.string().optional(),
  responseSchema: schemaObject.optional(),
  responseJsonSchema: z.unknown().optional(),
  responseFormat: z.array(anyObject).optional(),
  responseModalities: z.array(z.string()).optional(),
  mediaResolution: z.enum(MEDIA_RESOLUTIONS).optional(),
  thinkingConfig: thinkingConfig.optional(),
  speechConfig: anyObject.optional(),
  imageConfig: anyObject.optional(),
  audioTimestamp: z.boolean().optional(),
  enableAffectiveDialog: z.boolean().optional(),
  enableEnhancedCivicAnswers: z.boolean().optional(),
  routingConfig: anyObject.optional(),
  modelSelectionConfig: anyObject.optional(),
});

const safetySetting = z.strictObject({
  category: z.string(),
  threshold: z.string(),
  method: z.string().optional(),
});

const generateContentFields = {
  model: z.string().optional(),
  contents: z.array(content).min(1, 'contents is not specified'),
  systemInstruction: content.extend({ parts: z.array(part) }).optional(),
  safetySettings: z.array(safetySetting).optional(),
  tools: z.array(anyObject).optional(),
  toolConfig: anyObject.optional(),
  cachedContent: z.string().optional(),
  generationConfig: generationConfig.optional(),
  labels: z.record(z.string(), z.string()).optional(),
  serviceTier: z.string().optional(),
  store: z.boolean().optional(),
};

export const generateContentRequestSchema = z.strictObject(generateContentFields);

export const countTokensRequestSchema = z.strictObject({
  contents: z.array(content).optional(),
  generateContentRequest: z.strictObject(generateContentFields).optional(),
});

export type WirePart = z.infer<typeof part>;
export type WireContent = z.infer<typeof content>;
export type GenerationConfig = z.infer<typeof generationConfig>;
export type GenerateContentRequest = z.infer<typeof generateContentRequestSchema>;
export type CountTokensRequest = z.infer<typeof countTokensRequestSchema>;
export type SafetySetting = z.infer<typeof safetySetting>;

/** Normalise key case, then validate; errors become Gemini's 400 INVALID_ARGUMENT. */
export function parseRequest<T>(schema: z.ZodType<T>, raw: unknown): T {
  if (raw === undefined || raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw invalidArgument('Invalid JSON payload received. Expected a JSON object as the request body.');
  const result = schema.safeParse(normaliseKeys(raw));
  if (result.success) return result.data;
  throw toInvalidArgument(result.error, raw);
}

function toInvalidArgument(error: z.ZodError, raw: unknown): ApiError {
  const issue = error.issues[0]!;
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const spelled = spelledKey(raw, path, key);
    const at = path.length ? ` at '${fieldPath(path)}'` : '';
    return invalidArgument(`Invalid JSON payload received. Unknown name "${spelled}"${at}: Cannot find field.`, fieldPath([...path, key]));
  }
  const where = fieldPath(path);
  const message = path.length ? `Invalid value at '${where}': ${issue.message}` : issue.message;
  return invalidArgument(message, where || undefined);
}

/** `contents[0].parts[1].inline_data`, the path style of Gemini's messages. */
export function fieldPath(path: ReadonlyArray<string | number>): string {
  return path.reduce<string>(
    (acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${camelToSnake(seg)}` : camelToSnake(seg)),
    '',
  );
}

/** The key as the client wrote it (snake or camel), found by walking the raw body. */
function spelledKey(raw: unknown, path: ReadonlyArray<string | number>, camelKey: string): string {
  let node: unknown = raw;
  for (const seg of path) {
    if (node === null || typeof node !== 'object') return camelKey;
    if (typeof seg === 'number') node = (node as unknown[])[seg];
    else node = findKey(node as Record<string, unknown>, seg)?.[1];
  }
  if (node === null || typeof node !== 'object') return camelKey;
  return findKey(node as Record<string, unknown>, camelKey)?.[0] ?? camelKey;
}

function findKey(obj: Record<string, unknown>, camelKey: string): [string, unknown] | undefined {
  return Object.entries(obj).find(([k]) => snakeToCamel(k) === camelKey);
}
