/**
 * A provider for OpenAI-compatible vision servers: Ollama, vLLM, llama.cpp's llama-server,
 * LM Studio, SGLang, LocalAI. They all speak `POST {baseUrl}/chat/completions` with
 * `image_url` parts, so one adapter serves them:
 *  - `answer`, `readText`, `classify` go through `generate`: the user's own conversation is
 *    forwarded as chat and the VLM answers in its own words, streamed as it writes;
 *  - `detect` asks each image, in its own call, with the grounding prompt of the model's
 *    family (grounding.ts) and converts the boxes it answers to normalised ones.
 * Every call goes through providerFetch, so an unreachable, slow, rate-limited or
 * refusing server is a Gemini status (503, 504, 429, 400), never a hang.
 */
import { imagesOf } from '../../seam/request.js';
import type { EngineReport } from '../../seam/request.js';
import type { Capability, FoundObject, GroundingQuery, Provider, ProviderContext, ProviderDeps } from '../../seam/provider.js';
import type { OpenAiProviderSpec } from './config.js';
import { ensureOk, providerFetch, sseEvents, type ProviderResponse } from '../provider-fetch.js';
import { familyOf, groundingPrompt, groundingSize, parseGroundingAnswer, toNormBox } from './grounding.js';
import { encodeImage, sendSize } from './images.js';
import { buildChatRequest, finishAnswer, samplingOf, type ChatRequest } from './request.js';
import { chatPieces, readChunk } from './stream.js';

/** What an OpenAI-compatible VLM can be asked for; segmentation needs masks, which chat models do not draw. */
export const OPENAI_CAPABILITIES: readonly Capability[] = ['answer', 'readText', 'classify', 'detect'];

export function createOpenAiProvider(id: string, spec: OpenAiProviderSpec, deps: ProviderDeps): Provider {
  const baseUrl = spec.baseUrl.replace(/\/+$/, '');
  const family = familyOf(spec);
  const timeoutMs = spec.timeoutMs ?? deps.timeoutMs;
  const capabilities = spec.capabilities ? OPENAI_CAPABILITIES.filter((c) => spec.capabilities!.includes(c)) : OPENAI_CAPABILITIES;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'text/event-stream, application/json',
    ...(spec.apiKey ? { authorization: `Bearer ${spec.apiKey}` } : {}),
  };
  const fetchOpts = (signal?: AbortSignal) => ({ provider: id, timeoutMs, ...(signal ? { signal } : {}), ...(deps.fetch ? { fetch: deps.fetch } : {}) });

  async function post(body: ChatRequest, signal: AbortSignal): Promise<ProviderResponse> {
    const res = await providerFetch(`${baseUrl}/chat/completions`, { method: 'POST', headers, body: JSON.stringify(body) }, fetchOpts(signal));
    await ensureOk(res, id);
    return res;
  }

  /** The answer's text pieces, whether the server streamed (SSE) or, ignoring `stream`, answered whole. */
  async function* piecesOf(res: ProviderResponse, report: (r: EngineReport) => void): AsyncGenerator<string> {
    if (!/event-stream/i.test(res.headers.get('content-type') ?? '') && /json/i.test(res.headers.get('content-type') ?? '')) {
      const info = readChunk(id, await res.json());
      if (info.usage || info.finishReason) report({ ...(info.usage ? { usage: info.usage } : {}), ...(info.finishReason ? { finishReason: info.finishReason } : {}) });
      if (info.content) yield info.content;
      return;
    }
    yield* chatPieces(id, sseEvents(res.body()), report);
  }

  async function* generate(ctx: ProviderContext): AsyncGenerator<string> {
    const images = await Promise.all(
      imagesOf(ctx).map((p) => encodeImage(p.image, sendSize(p.image.width, p.image.height, spec.maxImageSide))),
    );
    const body = buildChatRequest({
      spec,
      turns: ctx.turns,
      images,
      ...(ctx.systemInstruction ? { systemInstruction: ctx.systemInstruction } : {}),
      output: ctx.output,
      ...(ctx.wire.generationConfig ? { generationConfig: ctx.wire.generationConfig } : {}),
      stream: true,
    });
    const pieces = piecesOf(await post(body, ctx.signal), (r) => ctx.report(r));
    if (ctx.output.mimeType === 'text/plain') {
      yield* pieces;
      return;
    }
    // Structured answers are checked whole by the service anyway; fences and enum quotes come off first.
    let text = '';
    for await (const p of pieces) text += p;
    yield finishAnswer(text, ctx.output);
  }

  async function detect(ctx: ProviderContext, query: GroundingQuery): Promise<FoundObject[]> {
    const prompt = groundingPrompt(family, query);
    const fallbackLabel = query.all || !query.phrase.trim() ? 'object' : query.phrase.trim();
    // The user's sampling choices apply; their length and stop limits were meant for the
    // answer text, not for the box list, which a stop sequence could cut in half.
    const { max_tokens: _max, stop: _stop, ...sampling } = samplingOf(ctx.wire.generationConfig);
    const found: FoundObject[] = [];
    const usage = { promptTokenCount: 0, candidatesTokenCount: 0 };
    let counted = false;
    // One call per image, one after another: grounding answers refer to a single image,
    // and a local server usually has one GPU to give.
    for (const [index, part] of imagesOf(ctx).entries()) {
      const scaled = sendSize(part.image.width, part.image.height, spec.maxImageSide);
      const image = await encodeImage(part.image, groundingSize(family, scaled.width, scaled.height));
      const body: ChatRequest = {
        model: spec.model,
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: image.url } }, { type: 'text', text: prompt }] }],
        stream: true,
        stream_options: { include_usage: true },
        ...sampling,
      };
      let text = '';
      const report = (r: EngineReport) => {
        if (!r.usage) return;
        counted = true;
        usage.promptTokenCount += r.usage.promptTokenCount ?? 0;
        usage.candidatesTokenCount += r.usage.candidatesTokenCount ?? 0;
      };
      for await (const p of piecesOf(await post(body, ctx.signal), report)) text += p;
      const raws = parseGroundingAnswer(family, text, fallbackLabel);
      deps.logger.debug({ provider: id, family, image: index, sent: [image.width, image.height], boxes: raws.length }, 'grounding answer parsed');
      for (const raw of raws) {
        const box = toNormBox(raw, { family, sent: image });
        if (!box) continue;
        found.push({ image: index, label: raw.label ?? fallbackLabel, box, ...(raw.score !== undefined ? { score: raw.score } : {}) });
      }
    }
    if (counted) ctx.report({ usage });
    return found;
  }

  async function warm(): Promise<void> {
    // A check, not a requirement: the server may start after Ocellus, and requests fail over meanwhile.
    try {
      const res = await providerFetch(`${baseUrl}/models`, { headers }, fetchOpts());
      await ensureOk(res, id);
      const body = (await res.json()) as { data?: Array<{ id?: unknown }> };
      const ids = (body.data ?? []).map((m) => m.id).filter((m): m is string => typeof m === 'string');
      if (ids.length && !ids.includes(spec.model))
        deps.logger.warn({ provider: id, model: spec.model, served: ids.slice(0, 20) }, `provider "${id}" does not list model ${spec.model}`);
      else deps.logger.info({ provider: id, family }, `provider "${id}": ${describe()}`);
    } catch (err) {
      deps.logger.warn({ provider: id, err: (err as Error).message }, `provider "${id}" is not answering yet`);
    }
  }

  const describe = () => `${spec.model} at ${baseUrl} (OpenAI-compatible)`;

  return {
    id,
    kind: 'openai',
    capabilities,
    describe,
    ...(capabilities.some((c) => c !== 'detect') ? { generate } : {}),
    ...(capabilities.includes('detect') ? { detect } : {}),
    warm,
  };
}
