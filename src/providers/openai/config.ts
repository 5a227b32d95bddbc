/** The routing file's entry for an OpenAI-compatible server (`type: openai`): Ollama, vLLM, llama.cpp, LM Studio… */
import { z } from 'zod';
import { commonProviderFields } from '../spec-common.js';

export const openAiProviderSpec = z.strictObject({
  type: z.literal('openai'),
  /** Base URL including `/v1`: `http://127.0.0.1:11434/v1` (Ollama), `http://gpu:8000/v1` (vLLM). */
  baseUrl: z.url(),
  /** The served model's name (`qwen2.5vl:7b`, `Qwen/Qwen2.5-VL-7B-Instruct`). */
  model: z.string().min(1),
  apiKey: z.string().optional(),
  /** Grounding prompt and coordinate convention; guessed from `model` when absent. */
  family: z.enum(['qwen2.5-vl', 'qwen3-vl', 'internvl', 'gemma3', 'generic']).optional(),
  /** Whether the server accepts `response_format: {type: "json_schema"}` (vLLM, Ollama, llama.cpp do). */
  jsonSchema: z.boolean().optional(),
  /** Longest image side sent to the server; larger images are scaled down first. */
  maxImageSide: z.number().int().positive().optional(),
  ...commonProviderFields,
});

export type OpenAiProviderSpec = z.infer<typeof openAiProviderSpec>;
