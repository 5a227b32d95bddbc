/**
 * The analysis cache (src/vision/analysis-cache.ts): what counts as the same analysis, and
 * that sharing one never hands a caller a result another can change or a run another
 * caller's cancellation killed.
 */
import { describe, expect, it } from 'vitest';
import { AnalysisCache, analysisLookup, type AnalysisLookup } from '../../src/vision/analysis-cache.js';
import type { Analysis, AnalysisNeeds } from '../../src/vision/analysis.js';

const DETECT = { belowThreshold: 0.5 };
const PAGE_SHARE = 0.6;
const key = (hash: string, side: number, needs: AnalysisNeeds): string | undefined => analysisLookup(hash, side, needs, [PAGE_SHARE])?.key;
/** The lookup of a detection of image `hash`. */
const L = (hash = 'k', needs: AnalysisNeeds = { detect: DETECT }): AnalysisLookup => analysisLookup(hash, 1024, needs, [PAGE_SHARE])!;

const dog = (): Analysis => ({
  objects: [{ label: 'dog', score: 0.9, box: [0.1, 0.2, 0.5, 0.9] }],
  detectThreshold: 0.4,
  times: { detect: 50 },
  detectStages: { resize: 0, infer: 40, post: 1, verify: 9 },
});

function counted(make: () => Promise<Analysis> = async () => dog()) {
  let runs = 0;
  return {
    run: () => {
      runs++;
      return make();
    },
    runs: () => runs,
  };
}

describe('analysisLookup', () => {
  const detect = DETECT;
  it('is the same for captions worded differently, and differs where the models would be asked differently', () => {
    const a = key('h', 1024, { detect, ocr: { prompt: 'Caption this image.', onlyIfPage: { sureShare: 0.6 } } });
    const b = key('h', 1024, { detect, ocr: { prompt: 'What is in this photo?', onlyIfPage: { sureShare: 0.6 } } });
    expect(a).toBeDefined();
    expect(b).toBe(a);
    // A Chinese prompt picks the other reader; reading always is not reading pages only.
    expect(key('h', 1024, { detect, ocr: { prompt: '這張圖片裡有什麼？', onlyIfPage: { sureShare: 0.6 } } })).not.toBe(a);
    expect(key('h', 1024, { detect, ocr: { prompt: 'Caption this image.' } })).not.toBe(a);
    // Another image, another side, other detector options, safety or people as well.
    expect(key('h2', 1024, { detect, ocr: { prompt: 'Caption this image.', onlyIfPage: { sureShare: 0.6 } } })).not.toBe(a);
    expect(key('h', 1600, { detect })).not.toBe(key('h', 1024, { detect }));
    expect(key('h', 1024, { detect: { minScore: 0.2 } })).not.toBe(key('h', 1024, { detect }));
    expect(key('h', 448, { safety: true })).not.toBe(key('h', 448, { safety: true, people: true }));
  });

  it("finds a caption's analysis (which also checked for a page of text) for a question after it, not the other way round", async () => {
    const cache = new AnalysisCache();
    const caption = analysisLookup('h', 1024, { detect, ocr: { prompt: 'Caption this image.', onlyIfPage: { sureShare: PAGE_SHARE } } }, [PAGE_SHARE])!;
    const question = analysisLookup('h', 1024, { detect }, [PAGE_SHARE])!;
    const m = counted(async () => ({ ...dog(), textPage: true, text: [{ text: 'Region-based segmentation', confidence: 0.9, box: [0, 0, 1, 0.1] }] }));
    await cache.get(caption, m.run);
    const answer = await cache.get(question, m.run);
    expect(m.runs()).toBe(1);
    // Only what the question would have got: the detections, not the page's text.
    expect(answer).toEqual({ objects: dog().objects, detectThreshold: 0.4, times: {} });

    const other = new AnalysisCache();
    const n = counted();
    await other.get(question, n.run);
    await other.get(caption, n.run);
    expect(n.runs()).toBe(2);
  });

  it('keeps nothing for an image without a hash or for masks', () => {
    expect(analysisLookup('', 1024, { detect: {} })).toBeUndefined();
    expect(analysisLookup('h', 1024, { detect: {}, segment: {} })).toBeUndefined();
  });
});

describe('AnalysisCache', () => {
  it('runs the models once per key and answers repeats from the cache, without stage times', async () => {
    const cache = new AnalysisCache();
    const m = counted();
    const first = await cache.get(L(), m.run);
    const second = await cache.get(L(), m.run);
    expect(m.runs()).toBe(1);
    expect(first.times).toEqual({ detect: 50 });
    expect(second.times).toEqual({});
    expect(second.detectStages).toBeUndefined();
    expect(second.objects).toEqual(first.objects);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, joined: 0, entries: 1 });
  });

  it('hands every caller its own copy: changing one answer changes no other', async () => {
    const cache = new AnalysisCache();
    const first = await cache.get(L(), async () => dog());
    first.objects![0]!.label = 'cat';
    const second = await cache.get(L(), async () => dog());
    expect(second.objects![0]!.label).toBe('dog');
    second.objects!.pop();
    expect((await cache.get(L(), async () => dog())).objects).toHaveLength(1);
  });

  it('lets identical requests in flight share one run', async () => {
    const cache = new AnalysisCache();
    let release!: () => void;
    const m = counted(() => new Promise<Analysis>((r) => (release = () => r(dog()))));
    const a = cache.get(L(), m.run);
    const b = cache.get(L(), m.run);
    release();
    const [ra, rb] = await Promise.all([a, b]);
    expect(m.runs()).toBe(1);
    expect(rb.objects).toEqual(ra.objects);
    expect(cache.stats()).toMatchObject({ misses: 1, joined: 1 });
  });

  it('runs a joined request itself when the run it joined fails (its client went away), and keeps no failure', async () => {
    const cache = new AnalysisCache();
    let fail!: (e: Error) => void;
    const leader = cache.get(L(), () => new Promise<Analysis>((_, reject) => (fail = reject)));
    const follower = counted();
    const joined = cache.get(L(), follower.run);
    fail(new Error('The operation was aborted'));
    await expect(leader).rejects.toThrow('aborted');
    expect((await joined).objects![0]!.label).toBe('dog');
    expect(follower.runs()).toBe(1);
    // The follower's own run is what was kept.
    const again = counted();
    await cache.get(L(), again.run);
    expect(again.runs()).toBe(0);
  });

  it('does not keep a failed run', async () => {
    const cache = new AnalysisCache();
    await expect(cache.get(L(), () => Promise.reject(new Error('model crashed')))).rejects.toThrow('model crashed');
    const m = counted();
    await cache.get(L(), m.run);
    expect(m.runs()).toBe(1);
  });

  it('drops the least recently used analysis beyond maxEntries, and keeps nothing at 0', async () => {
    const cache = new AnalysisCache({ maxEntries: 2 });
    const m = counted();
    await cache.get(L('a'), m.run);
    await cache.get(L('b'), m.run);
    await cache.get(L('a'), m.run); // a is now the most recently used
    await cache.get(L('c'), m.run); // evicts b
    expect(m.runs()).toBe(3);
    await cache.get(L('a'), m.run);
    expect(m.runs()).toBe(3);
    await cache.get(L('b'), m.run);
    expect(m.runs()).toBe(4);

    const off = new AnalysisCache({ maxEntries: 0 });
    const n = counted();
    await off.get(L(), n.run);
    await off.get(L(), n.run);
    expect(n.runs()).toBe(2);
    expect(off.stats()).toMatchObject({ hits: 0, misses: 0, entries: 0 });
  });

  it('reports every lookup', async () => {
    const seen: string[] = [];
    const cache = new AnalysisCache({ onLookup: (r) => seen.push(r) });
    await cache.get(L(), async () => dog());
    await cache.get(L(), async () => dog());
    await cache.get(analysisLookup('', 1024, { detect: DETECT }), async () => dog()); // no hash: not kept, no lookup
    expect(seen).toEqual(['miss', 'hit']);
  });
});
