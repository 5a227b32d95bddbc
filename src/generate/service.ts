/**
 * generateContent, streamGenerateContent and countTokens, independent of HTTP: validate
 * the request, resolve and decode its images once, count the prompt, run the engine, apply
 * the output limits and shape every chunk as Gemini does. Everything that can fail with a
 * client error fails in `prepare`, before the first byte of a stream is written.
 */
import type { Limits } from '../config.js';
import type { Engine, EngineReport, InputTurn, OutputFormat } from '../seam/request.js';
import type { ModelCatalog } from '../engine/model-catalog.js';
import type { ModelEntry } from '../seam/model.js';
import type { TextTokenCounter } from '../media/text-tokens.js';
import { apiError, invalidArgument, notFound } from '../errors.js';
import {
  countTokensRequestSchema,
  generateContentRequestSchema,
  parseRequest,
  type GenerateContentRequest,
} from '../wire/request.js';
import { candidate, newResponseId, usageMetadata, type Candidate, type GenerateContentResponse } from '../wire/response.js';
import { responseJsonSchemaOf, type SchemaValidators } from '../wire/schema.js';
import { checkRequest } from './check-request.js';
import { inspectImageParts, resolveTurns, type FileOpener, type ImagePartInfo, type ImageSource } from './inputs.js';
import { limitOutput } from './output-limits.js';
import { countPromptTokens, type PromptUsage } from './usage.js';
import { blockedPromptFeedback, isBlocked, withBlockedFlags } from '../vision/safety/ratings.js';
import type { SafetyRating } from '../vision/analysis.js';

/**
 * Gemini's answer when the prompt itself is blocked: HTTP 200, no `candidates`, the
 * reason and the prompt's ratings in `promptFeedback`. The ratings here are of the
 * request's images, i.e. of the prompt, so that is the shape a safety block takes.
 */
export interface BlockedPromptResponse {
  promptFeedback: { blockReason: 'SAFETY'; safetyRatings: SafetyRating[] };
  usageMetadata: GenerateContentResponse['usageMetadata'];
  modelVersion: string;
  responseId: string;
}
export type ServiceResponse = GenerateContentResponse | BlockedPromptResponse;

export interface GenerateServiceDeps {
  models: ModelCatalog;
  engine: Engine;
  files: FileOpener;
  images: ImageSource;
  text: TextTokenCounter;
  limits: Limits;
  schemas: SchemaValidators;
}

export interface PreparedGeneration {
  project: string;
  model: ModelEntry;
  request: GenerateContentRequest;
  turns: InputTurn[];
  promptUsage: PromptUsage;
  output: OutputFormat;
}

export interface CountTokensResponse {
  totalTokens: number;
  promptTokensDetails: PromptUsage['details'];
}

export type GenerateService = ReturnType<typeof createGenerateService>;

export function createGenerateService(deps: GenerateServiceDeps) {
  const resolveModel = (name: string, method: string, version: string): ModelEntry => {
    const model = deps.models.find(name);
    if (!model)
      throw notFound(
        `models/${name.replace(/^models\//, '')} is not found for API version ${version}, or is not supported for ${method}. Call ListModels to see the list of available models and their supported methods.`,
      );
    return model;
  };

  const context = (project: string) => ({
    project,
    files: deps.files,
    images: deps.images,
    maxPixels: deps.limits.maxPixels,
    maxImages: deps.limits.imagesPerRequest,
    maxRequestPixels: deps.limits.requestPixels,
  });

  async function countTokens(project: string, model: ModelEntry, body: unknown): Promise<CountTokensResponse> {
    const req = parseRequest(countTokensRequestSchema, body);
    if (req.contents && req.generateContentRequest)
      throw invalidArgument('contents and generate_content_request are mutually exclusive.');
    const inner = req.generateContentRequest;
    const contents = inner?.contents ?? req.contents;
    if (!contents || contents.length === 0) throw invalidArgument('contents is not specified');
    if (inner) checkRequest(inner);
    const images = await inspectImageParts(contents, context(project), inner ? 'generate_content_request.contents' : 'contents');
    const usage = countPromptTokens(
      {
        family: model.family,
        contents,
        systemInstruction: inner?.systemInstruction,
        images,
        mediaResolution: inner?.generationConfig?.mediaResolution,
      },
      deps.text,
    );
    return { totalTokens: usage.total, promptTokensDetails: usage.details };
  }

  async function prepare(project: string, model: ModelEntry, body: unknown): Promise<PreparedGeneration> {
    const request = parseRequest(generateContentRequestSchema, body);
    checkRequest(request);
    const jsonSchema = responseJsonSchemaOf(request.generationConfig);
    if (jsonSchema) deps.schemas.compile(jsonSchema); // a bad schema is a 400 now, not after the engine ran
    const turns = await resolveTurns(request.contents, context(project));
    const images: ImagePartInfo[] = turns.flatMap((t) =>
      t.parts.flatMap((p) =>
        p.kind === 'image' ? [{ label: p.label, info: p.image, ...(p.mediaResolution ? { mediaResolution: p.mediaResolution } : {}) }] : [],
      ),
    );
    const promptUsage = countPromptTokens(
      {
        family: model.family,
        contents: request.contents,
        systemInstruction: request.systemInstruction,
        images,
        mediaResolution: request.generationConfig?.mediaResolution,
      },
      deps.text,
    );
    const output: OutputFormat = {
      mimeType: request.generationConfig?.responseMimeType ?? 'text/plain',
      ...(jsonSchema ? { jsonSchema } : {}),
    };
    return { project, model, request, turns, promptUsage, output };
  }

  /** The engine's answer for one candidate, checked against the requested format. */
  async function* answer(p: PreparedGeneration, signal: AbortSignal, report: (r: EngineReport) => void): AsyncGenerator<string> {
    const systemInstruction = p.request.systemInstruction?.parts.map((x) => x.text ?? '').join('\n');
    const pieces = deps.engine.generate({
      model: p.model,
      project: p.project,
      wire: p.request,
      turns: p.turns,
      ...(systemInstruction ? { systemInstruction } : {}),
      output: p.output,
      signal,
      report,
    });
    if (p.output.mimeType === 'text/plain') {
      yield* pieces;
      return;
    }
    // Structured output is checked whole before any of it is sent.
    let text = '';
    for await (const piece of pieces) text += piece;
    checkStructured(text, p.output, deps.schemas, deps.engine.name);
    yield text;
  }

  /** safetyRatings of the request's images, flagged against its safetySettings. */
  async function rateSafety(p: PreparedGeneration, signal: AbortSignal): Promise<{ ratings: SafetyRating[]; blocked: boolean }> {
    if (!deps.engine.rateSafety) return { ratings: [], blocked: false };
    const images = p.turns.flatMap((t) => t.parts.flatMap((x) => (x.kind === 'image' ? [x.image] : [])));
    if (images.length === 0) return { ratings: [], blocked: false };
    const ratings = await deps.engine.rateSafety(images, signal);
    return {
      ratings: withBlockedFlags(ratings, p.request.safetySettings),
      blocked: isBlocked(ratings, p.request.safetySettings).length > 0,
    };
  }

  async function* stream(p: PreparedGeneration, signal: AbortSignal): AsyncGenerator<ServiceResponse> {
    const responseId = newResponseId();
    const count = p.request.generationConfig?.candidateCount ?? 1;
    let outputTokens = 0;
    // Rated while the engine composes; checked before the first chunk leaves.
    const safety = rateSafety(p, signal);
    safety.catch(() => undefined);
    for (let index = 0; index < count; index++) {
      // A provider that forwards to a real model knows its token counts and finish reason; they win over our estimate.
      let reported: EngineReport = {};
      const report = (r: EngineReport) => {
        reported = { usage: { ...reported.usage, ...r.usage }, finishReason: r.finishReason ?? reported.finishReason };
      };
      const usageNow = () => {
        const u = reported.usage;
        const base = usageMetadata(u?.promptTokenCount !== undefined ? { ...p.promptUsage, total: u.promptTokenCount } : p.promptUsage, u?.candidatesTokenCount ?? outputTokens);
        return u?.thoughtsTokenCount ? { ...base, thoughtsTokenCount: u.thoughtsTokenCount, totalTokenCount: base.totalTokenCount + u.thoughtsTokenCount } : base;
      };
      const limited = limitOutput(
        answer(p, signal, report),
        {
          stopSequences: p.request.generationConfig?.stopSequences,
          maxOutputTokens: p.request.generationConfig?.maxOutputTokens,
        },
        deps.text,
      );
      let held: string | undefined;
      // Pieces are counted one by one (not the growing text again per chunk): tokens that
      // straddle a piece boundary may count once more, as in any streamed count.
      const chunk = (piece: string, finishReason?: string): GenerateContentResponse => ({
        candidates: [candidate(index, piece, finishReason)],
        usageMetadata: usageNow(),
        modelVersion: p.model.id,
        responseId,
      });
      const pieces = limited.pieces[Symbol.asyncIterator]();
      const firstPiece = pieces.next();
      firstPiece.catch(() => undefined);
      const { ratings, blocked } = await safety;
      if (blocked) {
        // The images are the prompt: a blocked prompt is one response with promptFeedback
        // and no candidates at all (Gemini's shape), whatever candidateCount asked for.
        await pieces.return?.(undefined);
        yield {
          ...blockedPromptFeedback(ratings),
          usageMetadata: usageMetadata(p.promptUsage, 0),
          modelVersion: p.model.id,
          responseId,
        };
        return;
      }
      const withRatings = (r: GenerateContentResponse): GenerateContentResponse =>
        ratings.length ? { ...r, candidates: r.candidates.map((c) => ({ ...c, safetyRatings: ratings })) } : r;
      // One piece is held back so the last chunk, which carries finishReason, also has text.
      for (let r = await firstPiece; !r.done; r = await pieces.next()) {
        if (held !== undefined) yield chunk(held);
        outputTokens += deps.text.count(r.value);
        held = r.value;
      }
      const localFinish = limited.finishReason();
      yield withRatings(chunk(held ?? '', localFinish === 'STOP' && reported.finishReason ? reported.finishReason : localFinish));
    }
  }

  /** Non-streaming: the stream's chunks merged into one response per Gemini's shape. */
  async function generate(p: PreparedGeneration, signal: AbortSignal): Promise<ServiceResponse> {
    const texts: string[] = [];
    const finish: string[] = [];
    const ratings: Array<Candidate['safetyRatings']> = [];
    let last: GenerateContentResponse | undefined;
    for await (const chunk of stream(p, signal)) {
      if (!('candidates' in chunk)) return chunk; // a blocked prompt: the one and only chunk
      for (const c of chunk.candidates) {
        texts[c.index] = (texts[c.index] ?? '') + (c.content?.parts[0]?.text ?? '');
        if (c.finishReason) finish[c.index] = c.finishReason;
        if (c.safetyRatings) ratings[c.index] = c.safetyRatings;
      }
      last = chunk;
    }
    return {
      candidates: texts.map((t, i) =>
        // A provider that forwards to a real model may report a blocked candidate.
        finish[i] === 'SAFETY'
          ? { finishReason: 'SAFETY', index: i, safetyRatings: ratings[i] ?? [] }
          : { ...candidate(i, t, finish[i] ?? 'STOP'), ...(ratings[i] ? { safetyRatings: ratings[i] } : {}) },
      ),
      usageMetadata: last!.usageMetadata,
      modelVersion: p.model.id,
      responseId: last!.responseId,
    };
  }

  return { resolveModel, countTokens, prepare, stream, generate };
}

function checkStructured(text: string, output: OutputFormat, schemas: SchemaValidators, engine: string): void {
  const cannot = (why: string) =>
    apiError(
      'OCL_ERR_OUTPUT_FORMAT_UNSUPPORTED',
      `The "${engine}" engine cannot answer in the requested format: ${why}. See the README, "What it answers", for what the installed models can do.`,
    );
  if (output.mimeType === 'text/x.enum') {
    const options = (output.jsonSchema?.enum as unknown[] | undefined) ?? [];
    if (!options.includes(text.trim())) throw cannot(`its answer is not one of the enum values ${JSON.stringify(options)}`);
    return;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw cannot('its answer is not JSON');
  }
  if (output.jsonSchema) {
    const validate = schemas.compile(output.jsonSchema);
    if (!validate(value)) {
      const e = validate.errors?.[0];
      throw cannot(`its answer does not match the response schema (${e?.instancePath || '/'} ${e?.message ?? ''})`);
    }
  }
}
