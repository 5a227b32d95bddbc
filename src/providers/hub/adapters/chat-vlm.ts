/**
 * Small chat VLMs on transformers.js (SmolVLM-256M/500M-Instruct, Qwen2-VL/2.5-VL/3-VL,
 * Gemma 3, LFM2-VL, LLaVA builds) for free-form answers. The conversation's turns become the
 * model's chat-template messages, each image an `{type: 'image'}` item in place, and the
 * images go to the processor in the same order; the answer streams out token by token
 * through transformers.js's TextStreamer.
 */
import type { InputTurn } from '../../../seam/request.js';
import { sessionOptions, toRawImage, type AdapterRuntime, type RuntimeImage, type RuntimeLoader } from './types.js';

export type ChatContent = { type: 'image' } | { type: 'text'; text: string };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: ChatContent[];
}

/** Ocellus turns → chat messages plus the images in the order their placeholders appear. */
export function buildChatMessages(turns: readonly InputTurn[], systemInstruction?: string): { messages: ChatMessage[]; images: RuntimeImage[] } {
  const messages: ChatMessage[] = [];
  const images: RuntimeImage[] = [];
  if (systemInstruction?.trim()) messages.push({ role: 'system', content: [{ type: 'text', text: systemInstruction.trim() }] });
  for (const turn of turns) {
    const content: ChatContent[] = [];
    for (const part of turn.parts) {
      if (part.kind === 'image') {
        content.push({ type: 'image' });
        images.push({ width: part.image.width, height: part.image.height, rgb: part.image.rgb });
      } else if (part.text.trim()) content.push({ type: 'text', text: part.text });
    }
    if (content.length === 0) continue;
    const role = turn.role === 'model' ? 'assistant' : 'user';
    const prev = messages.at(-1);
    // Chat templates expect roles to alternate; consecutive turns of one role are one message.
    if (prev && prev.role === role) prev.content.push(...content);
    else messages.push({ role, content });
  }
  return { messages, images };
}

export const DEFAULT_MAX_NEW_TOKENS = 512;
export const MAX_NEW_TOKENS_CAP = 4096;

/** generationConfig.maxOutputTokens, within what a small CPU model should be asked for. */
export function maxNewTokens(maxOutputTokens: number | undefined): number {
  if (maxOutputTokens === undefined || !Number.isFinite(maxOutputTokens) || maxOutputTokens <= 0) return DEFAULT_MAX_NEW_TOKENS;
  return Math.min(MAX_NEW_TOKENS_CAP, Math.floor(maxOutputTokens));
}

/**
 * transformers.js processors disagree on argument order: Idefics3/SmolVLM, Qwen-VL, Gemma 3
 * and Phi-3-V take (text, images); LLaVA, PaliGemma, Pixtral and LFM2-VL take (images, text).
 */
export function textFirst(modelType: string | undefined): boolean {
  return !['llava', 'llava_onevision', 'paligemma', 'pixtral', 'lfm2_vl', 'lfm3_vl', 'mistral3'].includes(modelType ?? '');
}

/**
 * Processor options per family. Idefics3/SmolVLM split each image into 512-px tiles plus a
 * global view by default; on a CPU that multiplies the vision encoder's work several times
 * over for a model this small, so we send the global view only.
 */
export function processorOptions(modelType: string | undefined): Record<string, unknown> {
  return modelType === 'idefics3' || modelType === 'smolvlm' ? { do_image_splitting: false } : {};
}

export interface ChatArgs {
  messages: ChatMessage[];
  images: RuntimeImage[];
  maxNewTokens: number;
  temperature?: number;
}

export interface ChatResult {
  text: string;
  promptTokens: number;
  outputTokens: number;
  /** The answer stopped at maxNewTokens rather than at the end-of-turn token. */
  hitLimit: boolean;
}

export const loadChatVlm: RuntimeLoader = async (tf, opts) => {
  const [processor, model] = await Promise.all([
    tf.AutoProcessor.from_pretrained(opts.modelId),
    tf.AutoModelForImageTextToText.from_pretrained(opts.modelId, {
      dtype: opts.dtype as never,
      device: 'cpu',
      session_options: sessionOptions(opts),
    }),
  ]);
  const runtime: AdapterRuntime = {
    async call(method, args, ctl): Promise<ChatResult> {
      if (method !== 'chat') throw new Error(`chat-vlm has no method ${method}`);
      const a = args as ChatArgs;
      const prompt = processor.apply_chat_template(a.messages as never, { add_generation_prompt: true }) as string;
      const images = a.images.map((img) => toRawImage(tf, img));
      const call = processor as unknown as (...xs: unknown[]) => Promise<Record<string, unknown> & { input_ids: { dims: number[] } }>;
      const extra = processorOptions(opts.modelType);
      const imgs = images.length ? images : null;
      const inputs = textFirst(opts.modelType) ? await call(prompt, imgs, extra) : await call(imgs, prompt, extra);
      const stop = new tf.InterruptableStoppingCriteria();
      const onAbort = () => stop.interrupt();
      ctl.signal.addEventListener('abort', onAbort, { once: true });
      const streamer = new tf.TextStreamer(processor.tokenizer as never, {
        skip_prompt: true,
        skip_special_tokens: true,
        callback_function: (piece: string) => {
          if (piece) ctl.emit(piece);
        },
      });
      try {
        const sampling = a.temperature && a.temperature > 0 ? { do_sample: true, temperature: a.temperature } : { do_sample: false };
        const out = (await model.generate({
          ...inputs,
          ...sampling,
          max_new_tokens: a.maxNewTokens,
          streamer,
          stopping_criteria: stop,
        } as never)) as { dims: number[]; slice(...r: unknown[]): unknown };
        const promptTokens = inputs.input_ids.dims.at(-1) ?? 0;
        const outputTokens = (out.dims.at(-1) ?? promptTokens) - promptTokens;
        const text = processor.batch_decode(out.slice(null, [promptTokens, null]) as never, { skip_special_tokens: true })[0] ?? '';
        return { text: text.trim(), promptTokens, outputTokens, hitLimit: outputTokens >= a.maxNewTokens };
      } finally {
        ctl.signal.removeEventListener('abort', onAbort);
      }
    },
    async dispose() {
      await model.dispose();
    },
  };
  return runtime;
};
