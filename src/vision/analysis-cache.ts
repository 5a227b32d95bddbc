/**
 * What the models said about an image, kept by the image's content hash, so the same image
 * asked about again is not run through the models again.
 *
 * Why: the SDKs' chats resend the whole history on every turn, image included, so a
 * conversation about one photo would run the detector, the label check and the safety
 * classifier once per question (~110 ms of CPU on 2 cores, measured in docs/benchmarks.md);
 * the playground and Files API users ask many questions about one image too. The models are
 * deterministic on the same pixels, so the answer from the cache is the one a new run would
 * give. Identical requests in flight at once share one run.
 *
 * The key is the image's sha256 (of its bytes, as decoded by src/media/decode.ts), the side
 * the models see it at, and what they are asked (`AnalysisNeeds`), with the OCR prompt reduced
 * to the reader it picks: two captions worded differently need the same analysis.
 * Segmentation is not kept: masks are large, and the SAM encoder's output, most of their cost,
 * has its own cache (segment/embedding-cache.ts).
 *
 * With `shared` (shared-analyses.ts, the replicas' Redis), an image this replica has not
 * seen is looked up there before the models run, and what they say is offered to the others.
 *
 * Like the decoded-image cache, it is shared by all callers of the server: a caller could
 * tell from a fast answer that the same image bytes were analysed recently. `maxEntries: 0`
 * turns it off for servers whose API keys must not learn that.
 */
import { LRUCache } from 'lru-cache';
import type { Analysis, AnalysisNeeds } from './analysis.js';
import { pickReader } from './ocr/lines.js';
import type { SharedAnalyses } from './shared-analyses.js';

/** hit: kept here; joined: an identical run in flight; shared: kept by another replica; miss: the models ran. */
export type CacheLookup = 'hit' | 'miss' | 'joined' | 'shared';

export interface AnalysisCacheOptions {
  /** Analyses kept, least recently used dropped first. 0 turns the cache off. Default 512. */
  maxEntries?: number;
  /** Bytes of JSON kept in all (a page of OCR lines is a few KB, a photo's detections < 1 KB). Default 16 MiB. */
  maxBytes?: number;
  /** Called on every lookup, for metrics. */
  onLookup?: (result: CacheLookup) => void;
  /** Analyses other replicas kept (shared-analyses.ts), looked up before the models run. */
  shared?: SharedAnalyses;
}

export interface AnalysisCacheStats {
  hits: number;
  misses: number;
  joined: number;
  shared: number;
  entries: number;
}

/**
 * Where to look for an analysis: its own key, and the keys of fuller analyses of the same
 * image that hold everything it needs (a caption's analysis also checked for a page of text,
 * so a yes/no question after it needs no run of its own).
 */
export interface AnalysisLookup {
  key: string;
  covering: string[];
  needs: AnalysisNeeds;
}

type KeyParts = {
  detect: { minScore?: number; maxDetections?: number; belowThreshold?: number } | undefined;
  ocr: { reader: string; onlyIfPage: number | undefined } | undefined;
  safety: true | undefined;
  people: true | undefined;
};

// JSON.stringify drops undefined fields, and the fields are always written in this order.
const keyOf = (hash: string, side: number, p: KeyParts): string =>
  `${hash}@${side}:${JSON.stringify({ detect: p.detect, ocr: p.ocr, safety: p.safety, people: p.people })}`;

/**
 * The lookup for an analysis, or undefined for one that is not kept (no hash, segmentation).
 * `pageShares`: the `ocr.onlyIfPage.sureShare` values requests ask with, so analyses that
 * checked for a page of text are found as fuller ones.
 */
export function analysisLookup(hash: string, side: number, needs: AnalysisNeeds, pageShares: number[] = []): AnalysisLookup | undefined {
  if (!hash || needs.segment) return undefined;
  const { detect, ocr } = needs;
  const own: KeyParts = {
    detect: detect ? { minScore: detect.minScore, maxDetections: detect.maxDetections, belowThreshold: detect.belowThreshold } : undefined,
    ocr: ocr ? { reader: pickReader(ocr.prompt), onlyIfPage: ocr.onlyIfPage?.sureShare } : undefined,
    safety: needs.safety || undefined,
    people: needs.people || undefined,
  };
  // What was not asked for may have been read too; the detections are the same either way
  // (src/vision/analyser.ts runs the detector first, with the request's options).
  const ocrs = own.ocr
    ? [own.ocr]
    : [undefined, ...['tesseract', 'paddle'].flatMap((reader) => [undefined, ...pageShares].map((onlyIfPage) => ({ reader, onlyIfPage })))];
  const safeties = own.safety ? [true as const] : [undefined, true as const];
  const peoples = own.people ? [true as const] : [undefined, true as const];
  const key = keyOf(hash, side, own);
  const covering: string[] = [];
  for (const o of ocrs)
    for (const sa of safeties)
      for (const pe of peoples) {
        const k = keyOf(hash, side, { detect: own.detect, ocr: o, safety: sa, people: pe });
        if (k !== key) covering.push(k);
      }
  return { key, covering, needs };
}

export class AnalysisCache {
  private readonly store: LRUCache<string, Analysis> | undefined;
  private readonly inFlight = new Map<string, Promise<Analysis>>();
  private readonly onLookup: ((result: CacheLookup) => void) | undefined;
  private readonly shared: SharedAnalyses | undefined;
  private hits = 0;
  private misses = 0;
  private joined = 0;
  private fromShared = 0;

  constructor(opts: AnalysisCacheOptions = {}) {
    const maxEntries = opts.maxEntries ?? 512;
    this.onLookup = opts.onLookup;
    this.shared = opts.shared;
    if (maxEntries > 0) {
      this.store = new LRUCache<string, Analysis>({
        max: maxEntries,
        maxSize: opts.maxBytes ?? 16 * 1024 * 1024,
        sizeCalculation: (a) => Math.max(1, JSON.stringify(a).length),
      });
    }
  }

  /**
   * The analysis for `key`: kept, in flight for another caller, kept by another replica, or
   * `compute()`d now. A run another caller started belongs to that caller's request: if it
   * fails (that client went away, say), this caller runs its own. Without a key, just `compute()`.
   */
  async get(lookup: AnalysisLookup | undefined, compute: () => Promise<Analysis>): Promise<Analysis> {
    if (!lookup || !this.store) return compute();
    const { key, needs } = lookup;
    const kept = this.store.get(key) ?? firstKept(this.store, lookup.covering);
    if (kept) {
      this.count('hit');
      return fromCache(kept, needs);
    }
    const pending = this.inFlight.get(key);
    if (pending) {
      this.count('joined');
      try {
        return fromCache(await pending, needs);
      } catch {
        // Fall through: the other request's run failed or was cancelled; run this one's own.
      }
    }
    const run = this.fetchOrCompute(lookup, compute);
    this.inFlight.set(key, run);
    try {
      const analysis = await run;
      // A copy is kept: this caller owns the object it gets back.
      this.store.set(key, structuredClone(analysis));
      return analysis;
    } finally {
      if (this.inFlight.get(key) === run) this.inFlight.delete(key);
    }
  }

  stats(): AnalysisCacheStats {
    return { hits: this.hits, misses: this.misses, joined: this.joined, shared: this.fromShared, entries: this.store?.size ?? 0 };
  }

  /** Another replica's analysis, else the models' (offered to the other replicas). */
  private async fetchOrCompute(lookup: AnalysisLookup, compute: () => Promise<Analysis>): Promise<Analysis> {
    const remote = this.shared ? await this.shared.find([lookup.key, ...lookup.covering]) : undefined;
    if (remote) {
      this.count('shared');
      return fromCache(remote, lookup.needs);
    }
    this.count('miss');
    const analysis = await compute();
    this.shared?.keep(lookup.key, analysis);
    return analysis;
  }

  private count(result: CacheLookup): void {
    if (result === 'hit') this.hits++;
    else if (result === 'joined') this.joined++;
    else if (result === 'shared') this.fromShared++;
    else this.misses++;
    this.onLookup?.(result);
  }
}

function firstKept(store: LRUCache<string, Analysis>, keys: string[]): Analysis | undefined {
  for (const k of keys) {
    const a = store.get(k);
    if (a) return a;
  }
  return undefined;
}

/**
 * A kept analysis as a new object with what `needs` asked for: callers own what they get
 * (nothing downstream may change the kept copy), a fuller analysis answers only what this
 * request would have got, and no model ran for it, so it reports no stage times (nor the
 * detector's split of them).
 */
function fromCache(a: Analysis, needs: AnalysisNeeds): Analysis {
  const { text, textPage, people, safety, times: _times, detectStages: _stages, ...rest } = a;
  return structuredClone({
    ...rest,
    ...(needs.ocr && text ? { text } : {}),
    ...(needs.ocr && textPage !== undefined ? { textPage } : {}),
    ...(needs.people && people ? { people } : {}),
    ...(needs.safety && safety ? { safety } : {}),
    times: {},
  });
}
