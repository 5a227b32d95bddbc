/**
 * Gemini request → OpenAI chat-completions body. Pure: images arrive already encoded, in
 * request order. What maps where:
 *  - turns → messages, role `model` → `assistant`; systemInstruction → a `system` message;
 *  - images → `image_url` content parts with data URLs, text → `text` parts, in the
 *    user's order (Qwen, InternVL and llama.cpp all read interleaved parts);
 *  - generationConfig → sampling fields (`top_k` is not OpenAI's, but vLLM, llama.cpp,
 *    SGLang, LM Studio and LocalAI take it and Ollama ignores it);
 *  - responseMimeType application/json → `response_format` json_schema (with the schema)
 *    or json_object; text/x.enum → a json_schema of the enum, or a plain instruction.
 */
import type { InputTurn, OutputFormat } from '../../seam/request.js';
import type { OpenAiProviderSpec } from './config.js';
import type { GenerationConfig } from '../../wire/request.js';
import type { EncodedImage } from './images.js';

export type ContentPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | ContentPart[];
}

export type ResponseFormat =
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; schema: Record<string, unknown> } };

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream: boolean;
  stream_options?: { include_usage: boolean };
  temperature?: number;
  top_p?: number;
  top_k?: number;
  max_tokens?: number;
  stop?: string[];
  seed?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  response_format?: ResponseFormat;
}

/** turns → messages; `images` are the encoded images of every image part, in request order. */
export function toMessages(turns: InputTurn[], images: readonly EncodedImage[], systemInstruction?: string): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (systemInstruction?.trim()) messages.push({ role: 'system', content: systemInstruction });
  let next = 0;
  for (const turn of turns) {
    const parts: ContentPart[] = [];
    for (const p of turn.parts) {
      if (p.kind === 'text') {
        if (p.text) parts.push({ type: 'text', text: p.text });
        continue;
      }
      const image = images[next++];
      if (!image) throw new Error(`toMessages: image ${next - 1} was not encoded`);
      parts.push({ type: 'image_url', image_url: { url: image.url } });
    }
    if (turn.role === 'model') {
      // Servers take assistant content as text; images in the model's own turns (rare in
      // Gemini requests) are not something a chat template can put there, so only its words go.
      const text = parts.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('');
      messages.push({ role: 'assistant', content: text });
    } else if (parts.every((p) => p.type === 'text')) {
      // Plain strings for text-only turns: every server takes them, not all take part lists without images.
      messages.push({ role: 'user', content: parts.map((p) => (p as { text: string }).text).join('\n') });
    } else {
      messages.push({ role: 'user', content: parts });
    }
  }
  return messages;
}

/** generationConfig → OpenAI sampling fields; absent fields stay absent so the server's defaults apply. */
export function samplingOf(config: GenerationConfig | undefined): Partial<ChatRequest> {
  if (!config) return {};
  const out: Partial<ChatRequest> = {};
  if (config.temperature !== undefined) out.temperature = config.temperature;
  if (config.topP !== undefined) out.top_p = config.topP;
  if (config.topK !== undefined) out.top_k = config.topK;
  if (config.maxOutputTokens !== undefined) out.max_tokens = config.maxOutputTokens;
  if (config.stopSequences?.length) out.stop = config.stopSequences;
  if (config.seed !== undefined) out.seed = config.seed;
  if (config.presencePenalty !== undefined) out.presence_penalty = config.presencePenalty;
  if (config.frequencyPenalty !== undefined) out.frequency_penalty = config.frequencyPenalty;
  return out;
}

/** The enum values of a text/x.enum request (its schema is `{type: string, enum: [...]}`). */
export function enumValues(output: OutputFormat): string[] {
  const values = output.jsonSchema?.enum;
  return Array.isArray(values) ? values.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * How the answer's format is asked for: a `response_format`, and/or an instruction added
 * to the system message (for enums on servers without json_schema, and for JSON without a
 * schema, since OpenAI's json_object mode wants the word "JSON" in the prompt).
 */
export function formatOf(output: OutputFormat, spec: Pick<OpenAiProviderSpec, 'jsonSchema'>): { responseFormat?: ResponseFormat; instruction?: string } {
  const schemas = spec.jsonSchema !== false;
  if (output.mimeType === 'application/json') {
    if (output.jsonSchema && schemas)
      return { responseFormat: { type: 'json_schema', json_schema: { name: 'response', schema: output.jsonSchema } } };
    return {
      responseFormat: { type: 'json_object' },
      instruction: output.jsonSchema
        ? `Answer only with JSON matching this JSON Schema: ${JSON.stringify(output.jsonSchema)}`
        : 'Answer only with JSON.',
    };
  }
  if (output.mimeType === 'text/x.enum') {
    const values = enumValues(output);
    if (schemas && values.length)
      return { responseFormat: { type: 'json_schema', json_schema: { name: 'response', schema: { type: 'string', enum: values } } } };
    return { instruction: `Answer with exactly one of these values and nothing else: ${values.join(', ')}` };
  }
  return {};
}

export interface BuildChatOptions {
  spec: Pick<OpenAiProviderSpec, 'model' | 'jsonSchema'>;
  turns: InputTurn[];
  images: readonly EncodedImage[];
  systemInstruction?: string;
  output: OutputFormat;
  generationConfig?: GenerationConfig;
  stream: boolean;
}

export function buildChatRequest(o: BuildChatOptions): ChatRequest {
  const { responseFormat, instruction } = formatOf(o.output, o.spec);
  const system = [o.systemInstruction?.trim(), instruction].filter(Boolean).join('\n\n');
  return {
    model: o.spec.model,
    messages: toMessages(o.turns, o.images, system || undefined),
    stream: o.stream,
    ...(o.stream ? { stream_options: { include_usage: true } } : {}),
    ...samplingOf(o.generationConfig),
    ...(responseFormat ? { response_format: responseFormat } : {}),
  };
}

/**
 * The answer text as Gemini returns it for the requested format: JSON without the
 * Markdown fence some models wrap it in, an enum value without the JSON quotes that a
 * json_schema of type string produces.
 */
export function finishAnswer(text: string, output: OutputFormat): string {
  if (output.mimeType === 'application/json') {
    const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/i.exec(text);
    return fenced ? fenced[1]! : text;
  }
  if (output.mimeType === 'text/x.enum') {
    let t = text.trim();
    try {
      const v: unknown = JSON.parse(t);
      if (typeof v === 'string') t = v;
    } catch {
      /* not JSON: the bare value */
    }
    t = t.replace(/^["'`]|["'`.]$/g, '').trim();
    // A model that answers "Cat" for the value "cat" means the value.
    const values = enumValues(output);
    return values.find((v) => v === t) ?? values.find((v) => v.toLowerCase() === t.toLowerCase()) ?? t;
  }
  return text;
}
