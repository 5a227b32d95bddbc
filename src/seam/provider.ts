/**
 * The provider seam: every capability (answer, detect, segment, read text, classify) is
 * served by providers behind one small interface, so the offline engine, a pulled hub
 * model, an OpenAI-compatible VLM server and upstream Gemini are interchangeable and the
 * router can try them in order. Two shapes of provider exist:
 *  - whole-request providers (`answersWhole`): the offline engine and upstream Gemini
 *    answer any capability they list by themselves, in Gemini's own format;
 *  - typed providers return facts (boxes, masks, text, scores) and engine/compose/ writes
 *    them the way Gemini writes them, so `box_2d` is always 0..1000 [ymin, xmin, ymax, xmax]
 *    whatever convention the model answered in.
 * The router plans the prompt once and every provider reads that plan from its context.
 */
import type { Logger } from 'pino';
import type { EngineReport, EngineRequest } from './request.js';
import type { Plan, Task } from './plan.js';
import type { NormBox, ReadLine } from '../vision/analysis.js';

export type Capability = 'answer' | 'detect' | 'segment' | 'readText' | 'classify';

/** Every capability, in the order models.list and messages name them: the one list the rest reads. */
export const CAPABILITIES: readonly Capability[] = ['answer', 'detect', 'segment', 'readText', 'classify'];

/** Which capability a planned task needs. Counting, "where", colours and people are answers. */
export function capabilityOf(task: Task): Capability {
  switch (task.kind) {
    case 'detect':
      return 'detect';
    case 'segment':
      return 'segment';
    case 'readText':
      return 'readText';
    case 'classify':
      return 'classify';
    default:
      return 'answer';
  }
}

/**
 * Whether another provider might answer where this one failed, as the failure says it
 * (providers' errors carry `retryable`: ProviderError in providers/provider-errors.ts);
 * undefined when the error does not say, and the router judges by its status.
 */
export function retryableFailure(err: unknown): boolean | undefined {
  const said = typeof err === 'object' && err !== null ? (err as { retryable?: unknown }).retryable : undefined;
  return typeof said === 'boolean' ? said : undefined;
}

/** Token counts a provider measured itself; they replace Ocellus's own estimate in usageMetadata. */
export type ProviderUsage = NonNullable<EngineReport['usage']>;

export interface ProviderContext extends EngineRequest {
  /** What the prompt asks, planned once by the router; providers answer this, never a plan of their own. */
  plan: Plan;
  capability: Capability;
  /** The user's words of the last turn. */
  prompt: string;
  /** Called by providers that know the real token usage or a finish reason (MAX_TOKENS, SAFETY…). */
  report(r: EngineReport): void;
}

/** What every provider factory is handed. */
export interface ProviderDeps {
  logger: Logger;
  /** Deadline for the first byte and between streamed pieces, unless the spec sets its own. */
  timeoutMs: number;
  /** Replaceable for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/** What to look for: a phrase ("the wooden and glass items"), or every prominent object when `all`. */
export interface GroundingQuery {
  phrase: string;
  all: boolean;
}

/** One object a grounding provider found, on image `image` (0-based, request order). */
export interface FoundObject {
  image: number;
  label: string;
  /** Normalised [x0, y0, x1, y1], 0..1 of the upright image: every model's convention is converted to this. */
  box: NormBox;
  score?: number;
}

export interface FoundMask extends FoundObject {
  /** `data:image/png;base64,…` 8-bit greyscale probability map of the box region (Gemini's mask format). */
  png: string;
}

export interface LabelScore {
  label: string;
  score: number;
}

export type ProviderKind = 'offline' | 'openai' | 'gemini' | 'hub' | 'composite';

export interface Provider {
  /** The id the routing file names it by: `offline`, `ollama`, `florence`, … */
  readonly id: string;
  readonly kind: ProviderKind;
  readonly capabilities: readonly Capability[];
  /** True when `generate` answers every listed capability by itself, in Gemini's format. */
  readonly answersWhole?: boolean;
  /** What serves it, in words, for models.list and messages: "qwen2.5vl:7b on http://127.0.0.1:11434/v1". */
  describe(): string;
  /** Free-form answer (capability `answer`, or any capability when `answersWhole`); streams text pieces. */
  generate?(ctx: ProviderContext): AsyncIterable<string>;
  detect?(ctx: ProviderContext, query: GroundingQuery): Promise<FoundObject[]>;
  segment?(ctx: ProviderContext, query: GroundingQuery): Promise<FoundMask[]>;
  /** Text of each image, in request order (lines with boxes when the model gives them). */
  readText?(ctx: ProviderContext): Promise<Array<ReadLine[] | string>>;
  /** Scores of `labels` for each image, in request order, best first. */
  classify?(ctx: ProviderContext, labels: string[]): Promise<LabelScore[][]>;
  /** Loads weights or checks the server, at start-up; failures are logged, not fatal. */
  warm?(): Promise<void>;
  close?(): Promise<void>;
}
