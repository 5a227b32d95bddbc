/**
 * The one engine on the request path: it plans what the prompt asks once, finds the
 * capability the plan needs, and tries the providers the routing file lists for the model and
 * capability, in order, handing each the plan (`ProviderContext.plan`); the offline engine is
 * one of those providers and answers from that plan. A provider that fails or times out
 * before its first piece hands the request to the next; once a piece has been sent, the
 * answer belongs to that provider and a failure goes out as a mid-stream error. Typed results
 * (boxes, masks, text, scores) are written by engine/compose/ the way Gemini writes them,
 * whichever model produced them.
 */
import type { Logger } from 'pino';
import { ApiError, apiError, failedPrecondition } from '../errors.js';
import type { Answer } from './compose/answer.js';
import { boxAnswer, classAnswer, textAnswer } from './compose/provider-results.js';
import { renderAnswer } from './compose/render.js';
import { imagesOf, promptOf, type Engine, type EngineRequest } from '../seam/request.js';
import { planTasks, targetPhrase, type Plan, type Vocabulary } from './planner.js';
import { CAPABILITIES, capabilityOf, retryableFailure, type Capability, type Provider, type ProviderContext } from '../seam/provider.js';
import { routeFor, type RoutingFile } from './routing-file.js';
import type { DecodedImage } from '../media/decode.js';
import type { SafetyRating } from '../vision/analysis.js';
import type { Spans } from '../tracing/spans.js';

export interface RouterDeps {
  providers: ReadonlyMap<string, Provider>;
  routing: RoutingFile;
  vocabulary: Vocabulary;
  logger: Logger;
  /** Rates images for safetyRatings (the offline classifier), whoever answers. */
  rateSafety?: (images: DecodedImage[], signal: AbortSignal) => Promise<SafetyRating[]>;
  /** The request's trace (issue 14): the plan gets a span. Off: nothing is recorded. */
  spans?: Pick<Spans, 'recordDone'>;
}

/** What would serve a capability for a model: the providers routed to it that have it. */
export interface CapabilityRoute {
  capability: Capability;
  providers: string[];
}

export class RoutingEngine implements Engine {
  readonly name = 'router';
  readonly rateSafety?: (images: DecodedImage[], signal: AbortSignal) => Promise<SafetyRating[]>;

  constructor(private readonly deps: RouterDeps) {
    if (deps.rateSafety) this.rateSafety = deps.rateSafety;
  }

  /** The providers that would serve each capability of `modelId`, for models.list and errors. */
  routesOf(modelId: string): CapabilityRoute[] {
    return CAPABILITIES.map((capability) => ({
      capability,
      providers: this.usable(modelId, capability).map((p) => p.id),
    }));
  }

  private usable(modelId: string, capability: Capability): Provider[] {
    return routeFor(this.deps.routing, modelId, capability).flatMap((id) => {
      const p = this.deps.providers.get(id);
      return p && p.capabilities.includes(capability) ? [p] : [];
    });
  }

  async *generate(request: EngineRequest): AsyncIterable<string> {
    const prompt = promptOf(request);
    const planStarted = performance.now();
    const plan = planTasks(prompt, {
      imageCount: imagesOf(request).length,
      jsonRequested: request.output.mimeType === 'application/json',
      vocabulary: this.deps.vocabulary,
    });
    this.deps.spans?.recordDone('plan', { 'ocellus.task': plan.task.kind, 'ocellus.model': request.model.id }, performance.now() - planStarted);
    const capability = capabilityOf(plan.task);
    const candidates = this.usable(request.model.id, capability);
    if (candidates.length === 0) throw this.noProvider(request.model.id, capability);
    const ctx: ProviderContext = { ...request, plan, capability, prompt, report: request.report ?? (() => undefined) };

    let lastError: unknown;
    for (const [i, provider] of candidates.entries()) {
      const pieces = this.run(provider, ctx)[Symbol.asyncIterator]();
      let first: IteratorResult<string>;
      try {
        first = await pieces.next();
      } catch (err) {
        const more = i < candidates.length - 1;
        if (!more || !isRetryable(err) || request.signal.aborted) throw err;
        this.deps.logger.warn({ provider: provider.id, capability, err: (err as Error).message }, 'provider failed; trying the next one');
        lastError = err;
        continue;
      }
      if (first.done) return;
      yield first.value;
      for (let r = await pieces.next(); !r.done; r = await pieces.next()) yield r.value;
      return;
    }
    throw lastError;
  }

  /** One provider's answer as text pieces: its own for whole-request providers, else rendered from its facts. */
  private async *run(p: Provider, ctx: ProviderContext): AsyncIterable<string> {
    const lang = ctx.plan.lang;
    const render = (answer: Answer) => renderAnswer(answer, { images: [], differences: [] }, ctx.output, lang, ctx.plan.json);
    const many = imagesOf(ctx).length > 1;
    if (p.answersWhole && p.generate) return yield* p.generate(ctx);
    switch (ctx.capability) {
      case 'detect':
        if (p.detect) return yield* render(boxAnswer(await p.detect(ctx, groundingQuery(ctx.plan, ctx.prompt)), many));
        break;
      case 'segment':
        if (p.segment) return yield* render(boxAnswer(await p.segment(ctx, groundingQuery(ctx.plan, ctx.prompt)), many));
        break;
      case 'readText':
        if (p.readText) return yield* render(textAnswer(await p.readText(ctx), lang));
        break;
      case 'classify':
        if (p.classify && ctx.plan.task.kind === 'classify')
          return yield* render(classAnswer(await p.classify(ctx, ctx.plan.task.options.map((o) => o.phrase)), lang));
        break;
      case 'answer':
        break;
    }
    if (!p.generate) throw apiError('OCL_ERR_PROVIDER_MISCONFIGURED', `Provider "${p.id}" lists ${ctx.capability} but cannot serve it.`);
    yield* p.generate(ctx);
  }

  private noProvider(modelId: string, capability: Capability): ApiError {
    const routed = routeFor(this.deps.routing, modelId, capability);
    const why = routed
      .map((id) => {
        const p = this.deps.providers.get(id);
        return p ? `"${id}" (${p.describe()}) cannot ${CAPABILITY_WORDS[capability]}` : `"${id}" is not configured`;
      })
      .join('; ');
    return failedPrecondition(
      `No configured provider can ${CAPABILITY_WORDS[capability]} for model ${modelId}: ${why}. ` +
        `${HOW_TO_ENABLE[capability]} See the README, "Providers and routing".`,
    );
  }
}

const CAPABILITY_WORDS: Record<Capability, string> = {
  answer: 'answer questions about images',
  detect: 'detect objects',
  segment: 'segment objects',
  readText: 'read text',
  classify: 'classify images',
};

const HOW_TO_ENABLE: Record<Capability, string> = {
  answer: 'Start the offline engine (--engine vision), or route answer to an OpenAI-compatible VLM server, upstream Gemini or a pulled chat VLM.',
  detect: 'Load a detector (--detector ssd-mobilenet), or route detect to a grounding model (Florence-2 or OWLv2 via `ocellus pull`, a Qwen-VL server, upstream Gemini).',
  segment: 'Load SAM and a detector (drop --no-segment, --detector ssd-mobilenet), or route segment to a grounded-sam provider over a grounding model, or to upstream Gemini.',
  readText: 'Load the text readers (drop --no-ocr), or route readText to Florence-2, a VLM server or upstream Gemini.',
  classify: 'Load a detector (--detector ssd-mobilenet), or route classify to a CLIP model (`ocellus pull`), a VLM server or upstream Gemini.',
};

/** Errors another provider might not have: unreachable, timed out, overloaded, rate limited. */
function isRetryable(err: unknown): boolean {
  const said = retryableFailure(err);
  if (said !== undefined) return said;
  if (err instanceof ApiError) return err.httpStatus === 429 || err.httpStatus >= 500;
  return true; // an unexpected crash inside a provider: the next one may still answer
}

function groundingQuery(plan: Plan, prompt: string): { phrase: string; all: boolean } {
  const task = plan.task;
  const all = (task.kind === 'detect' || task.kind === 'segment') && task.targets.all;
  return { phrase: all ? '' : targetPhrase(prompt), all };
}
