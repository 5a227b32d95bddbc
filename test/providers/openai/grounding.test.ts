import { describe, expect, it } from 'vitest';
import {
  QWEN25_GROUNDING_MAX_PIXELS,
  familyOf,
  groundingPrompt,
  groundingSize,
  guessFamily,
  parseGroundingAnswer,
  parseJsonBoxes,
  parseRefBoxes,
  roundHalfEven,
  smartResize,
  toNormBox,
  type Family,
  type RawBox,
} from '../../../src/providers/openai/grounding.js';

/**
 * [width, height, then smart_resize's width, height for max_pixels 12845056 (Qwen2.5-VL's
 * preprocessor_config), 2<<20 (Ollama's qwen25vl default) and 28²·1280 (the cookbook's)],
 * computed with a transcription of qwen_vl_utils.smart_resize run under CPython, whose
 * round() goes half to even and whose floats are the same doubles as JavaScript's.
 */
const GOLDEN: Array<[number, number, number, number, number, number, number, number]> = [
  [768, 576, 756, 588, 756, 588, 756, 588],
  [773, 512, 784, 504, 784, 504, 784, 504],
  [640, 424, 644, 420, 644, 420, 644, 420],
  [2048, 1536, 2044, 1540, 1652, 1232, 1148, 840],
  [70, 98, 56, 112, 56, 112, 56, 112],
  [98, 70, 112, 56, 112, 56, 112, 56],
  [42, 42, 56, 56, 56, 56, 56, 56],
  [20, 20, 56, 56, 56, 56, 56, 56],
  [10, 300, 28, 308, 28, 308, 28, 308],
  [4000, 3000, 4004, 2996, 1652, 1232, 1148, 840],
  [5000, 4000, 4004, 3192, 1596, 1288, 1120, 896],
  [8192, 8192, 3584, 3584, 1428, 1428, 980, 980],
  [1, 1, 56, 56, 56, 56, 56, 56],
  [14, 14, 56, 56, 56, 56, 56, 56],
  [1920, 1080, 1932, 1092, 1904, 1064, 1316, 728],
  [1080, 1920, 1092, 1932, 1064, 1904, 728, 1316],
  [3000, 2001, 2996, 1988, 1764, 1176, 1204, 812],
  [6000, 100, 5992, 112, 5992, 112, 5992, 112],
  [30, 40, 56, 84, 56, 84, 56, 84],
  [13, 2000, 28, 1988, 28, 1988, 28, 1988],
];

describe('model families', () => {
  it.each<[string, Family]>([
    ['qwen2.5vl:7b', 'qwen2.5-vl'],
    ['qwen2.5vl:72b-q4_K_M', 'qwen2.5-vl'],
    ['Qwen/Qwen2.5-VL-7B-Instruct', 'qwen2.5-vl'],
    ['Qwen2.5-VL-3B-Instruct-Q8_0.gguf', 'qwen2.5-vl'],
    ['qwen3-vl:8b', 'qwen3-vl'],
    ['Qwen/Qwen3-VL-30B-A3B-Instruct', 'qwen3-vl'],
    ['OpenGVLab/InternVL3-8B', 'internvl'],
    ['internvl2.5:4b', 'internvl'],
    ['gemma3:12b', 'gemma3'],
    ['google/gemma-3-27b-it', 'gemma3'],
    ['llava:13b', 'generic'],
    ['qwen2-vl-7b', 'generic'],
  ])('%s → %s', (model, family) => {
    expect(guessFamily(model)).toBe(family);
  });

  it('a family in the spec wins over the guess', () => {
    expect(familyOf({ model: 'my-finetune', family: 'qwen3-vl' })).toBe('qwen3-vl');
    expect(familyOf({ model: 'qwen2.5vl:7b' })).toBe('qwen2.5-vl');
  });
});

describe("Qwen's smart_resize", () => {
  it('rounds halves to even, as Python does', () => {
    expect([0.5, 1.5, 2.5, 3.5, -2.5, 2.4, 2.6, 3].map(roundHalfEven)).toEqual([0, 2, 2, 4, -2, 2, 3, 3]);
  });

  it.each(GOLDEN)('%i×%i matches the reference implementation', (w, h, w1, h1, w2, h2, w3, h3) => {
    expect(smartResize(w, h)).toEqual({ width: w1, height: h1 });
    expect(smartResize(w, h, { maxPixels: 2 << 20 })).toEqual({ width: w2, height: h2 });
    expect(smartResize(w, h, { maxPixels: 28 * 28 * 1280 })).toEqual({ width: w3, height: h3 });
  });

  it('always lands on the 28-pixel grid within the pixel budget', () => {
    for (let w = 28; w < 5000; w += 97)
      for (let h = 28; h < 5000; h += 89) {
        const r = smartResize(w, h);
        expect(r.width % 28).toBe(0);
        expect(r.height % 28).toBe(0);
        expect(r.width * r.height).toBeLessThanOrEqual(12_845_056);
        expect(r.width * r.height).toBeGreaterThanOrEqual(3136);
      }
  });

  it('the grounding size is a fixed point of smart_resize for any server budget from ~1 MP up', () => {
    for (let w = 20; w < 9000; w += 233)
      for (let h = 20; h < 9000; h += 211) {
        const g = groundingSize('qwen2.5-vl', w, h);
        expect(g.width * g.height).toBeLessThanOrEqual(QWEN25_GROUNDING_MAX_PIXELS);
        for (const maxPixels of [QWEN25_GROUNDING_MAX_PIXELS, 2 << 20, 12_845_056]) expect(smartResize(g.width, g.height, { maxPixels })).toEqual(g);
      }
  });

  it('other families are sent the image as it is', () => {
    expect(groundingSize('qwen3-vl', 1001, 777)).toEqual({ width: 1001, height: 777 });
    expect(groundingSize('generic', 5, 5)).toEqual({ width: 5, height: 5 });
  });
});

describe('grounding prompts', () => {
  it('name the phrase, or every prominent object', () => {
    for (const f of ['qwen2.5-vl', 'qwen3-vl', 'internvl', 'gemma3', 'generic'] as Family[]) {
      expect(groundingPrompt(f, { phrase: 'the wooden and glass items', all: false })).toContain('the wooden and glass items');
      const all = groundingPrompt(f, { phrase: 'ignored', all: true });
      expect(all).toContain('all prominent objects');
      expect(all).not.toContain('ignored');
    }
  });

  it("ask each family for its own format", () => {
    const q = { phrase: 'dog', all: false };
    expect(groundingPrompt('qwen2.5-vl', q)).toContain('bbox_2d');
    expect(groundingPrompt('qwen3-vl', q)).toContain('bbox_2d');
    expect(groundingPrompt('internvl', q)).toContain('<ref>dog</ref>');
    expect(groundingPrompt('generic', q)).toMatch(/box_2d.*\[ymin, xmin, ymax, xmax\].*0-1000/);
    expect(groundingPrompt('gemma3', q)).toContain('box_2d');
  });
});

describe('parsing grounding answers', () => {
  it('reads a Qwen answer in a ```json fence with prose around it', () => {
    const text = 'Sure! Here are the objects:\n```json\n[\n\t{"bbox_2d": [10, 20, 110, 220], "label": "dog"},\n\t{"bbox_2d": [5, 6, 7, 8], "label": "cat"}\n]\n```\nLet me know.';
    expect(parseJsonBoxes(text)).toEqual([
      { order: 'xy', values: [10, 20, 110, 220], label: 'dog' },
      { order: 'xy', values: [5, 6, 7, 8], label: 'cat' },
    ]);
  });

  it('takes the axis order from the key: box_2d is y first, bbox_2d and bbox x first', () => {
    const boxes = parseJsonBoxes('[{"box_2d":[1,2,3,4],"label":"a"},{"bbox":[1,2,3,4],"label":"b"},{"bbox_2d":[1,2,3,4]}]');
    expect(boxes.map((b) => b.order)).toEqual(['yx', 'xy', 'xy']);
    expect(boxes[2]!.label).toBeUndefined();
  });

  it('finds boxes inside wrappers, single objects, nested one-box lists and string numbers', () => {
    expect(parseJsonBoxes('{"objects": [{"bbox_2d": [1, 2, 3, 4], "label": "x"}]}')).toHaveLength(1);
    expect(parseJsonBoxes('{"bbox_2d": [1, 2, 3, 4], "label": "x"}')).toHaveLength(1);
    expect(parseJsonBoxes('[{"bbox_2d": [[1, 2, 3, 4]], "label": "x"}]')[0]!.values).toEqual([1, 2, 3, 4]);
    expect(parseJsonBoxes('[{"bbox_2d": ["1", "2", "3", "4.5"], "label": "x"}]')[0]!.values).toEqual([1, 2, 3, 4.5]);
  });

  it('repairs trailing commas and single quotes, and keeps the complete entries of a truncated list', () => {
    expect(parseJsonBoxes("[{'bbox_2d': [1, 2, 3, 4], 'label': 'dog'},]")).toEqual([{ order: 'xy', values: [1, 2, 3, 4], label: 'dog' }]);
    const truncated = '```json\n[{"bbox_2d": [1, 2, 3, 4], "label": "a"}, {"bbox_2d": [5, 6, 7, 8], "label": "b"}, {"bbox_2d": [9, 10, 1';
    expect(parseJsonBoxes(truncated).map((b) => b.label)).toEqual(['a', 'b']);
  });

  it('drops malformed entries and keeps the good ones', () => {
    const text = JSON.stringify([
      { bbox_2d: [1, 2, 3], label: 'three numbers' },
      { bbox_2d: [1, 2, 'x', 4], label: 'not a number' },
      { bbox_2d: null, label: 'null' },
      { label: 'no box' },
      { bbox_2d: [1, 2, 3, 4], label: 'good', score: 0.9 },
    ]);
    expect(parseJsonBoxes(text)).toEqual([{ order: 'xy', values: [1, 2, 3, 4], label: 'good', score: 0.9 }]);
  });

  it('finds nothing in prose or an empty list', () => {
    expect(parseJsonBoxes('I cannot see any dogs in this image.')).toEqual([]);
    expect(parseJsonBoxes('```json\n[]\n```')).toEqual([]);
    expect(parseGroundingAnswer('qwen2.5-vl', '')).toEqual([]);
  });

  it("reads InternVL's <ref>/<box> pairs, several boxes per ref, and a box without a ref", () => {
    const text = '<ref>dog</ref><box>[[100, 200, 300, 400]]</box> and <ref>cat</ref><box>[[1, 2, 3, 4], [5, 6, 7, 8]]</box><box>[9, 9, 19, 19]</box>';
    expect(parseRefBoxes(text, 'thing')).toEqual([
      { order: 'xy', values: [100, 200, 300, 400], label: 'dog' },
      { order: 'xy', values: [1, 2, 3, 4], label: 'cat' },
      { order: 'xy', values: [5, 6, 7, 8], label: 'cat' },
      { order: 'xy', values: [9, 9, 19, 19], label: 'cat' },
    ]);
    expect(parseRefBoxes('<box>[[1, 2, 3, 4]]</box>', 'the red car')[0]!.label).toBe('the red car');
    expect(parseGroundingAnswer('internvl', '[[10, 20, 30, 40]]', 'dog')).toEqual([{ order: 'xy', values: [10, 20, 30, 40], label: 'dog' }]);
  });
});

describe('coordinate conversion', () => {
  const close = (got: number[] | undefined, want: number[], digits = 9) => {
    expect(got).toBeDefined();
    got!.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, digits));
  };
  const raw = (order: RawBox['order'], values: RawBox['values']): RawBox => ({ order, values });

  it("Qwen2.5-VL: pixels of smart_resize(sent) → the same normalised box (round trip over many sizes)", () => {
    const truth = [0.137, 0.251, 0.733, 0.902]; // x0, y0, x1, y1
    for (const [w, h] of GOLDEN.map((g) => [g[0], g[1]] as const)) {
      const input = smartResize(w, h); // what the server feeds the model when sent w×h
      const answered: RawBox['values'] = [truth[0]! * input.width, truth[1]! * input.height, truth[2]! * input.width, truth[3]! * input.height];
      close(toNormBox(raw('xy', answered), { family: 'qwen2.5-vl', sent: { width: w, height: h } }), truth);
    }
  });

  it('Qwen2.5-VL: dividing by the sent size instead would be off, which is why smart_resize is applied', () => {
    // 2048×1536 is fed to the model as 2044×1540: x is scaled by 2044, y by 1540.
    const box = toNormBox(raw('xy', [1022, 770, 2044, 1540]), { family: 'qwen2.5-vl', sent: { width: 2048, height: 1536 } });
    expect(box).toEqual([0.5, 0.5, 1, 1]);
    expect(770 / 1536).not.toBeCloseTo(0.5, 3);
  });

  it('Qwen3-VL and InternVL: 0..1000, x first', () => {
    for (const family of ['qwen3-vl', 'internvl'] as Family[])
      close(toNormBox(raw('xy', [100, 200, 300, 400]), { family, sent: { width: 640, height: 480 } }), [0.1, 0.2, 0.3, 0.4]);
  });

  it("generic and Gemma 3: Gemini's box_2d [ymin, xmin, ymax, xmax] 0..1000", () => {
    for (const family of ['generic', 'gemma3'] as Family[])
      close(toNormBox(raw('yx', [200, 100, 400, 300]), { family, sent: { width: 640, height: 480 } }), [0.1, 0.2, 0.3, 0.4]);
  });

  it('a generic model answering x-first bbox_2d is read x first', () => {
    close(toNormBox(raw('xy', [100, 200, 300, 400]), { family: 'generic', sent: { width: 10, height: 10 } }), [0.1, 0.2, 0.3, 0.4]);
  });

  it('takes fractions in 0..1 as already normalised', () => {
    close(toNormBox(raw('xy', [0.1, 0.2, 0.3, 0.4]), { family: 'qwen2.5-vl', sent: { width: 1000, height: 1000 } }), [0.1, 0.2, 0.3, 0.4]);
  });

  it('clamps, orders swapped corners and drops empty boxes', () => {
    expect(toNormBox(raw('xy', [-50, -10, 1200, 500]), { family: 'qwen3-vl', sent: { width: 1, height: 1 } })).toEqual([0, 0, 1, 0.5]);
    close(toNormBox(raw('xy', [300, 400, 100, 200]), { family: 'qwen3-vl', sent: { width: 1, height: 1 } }), [0.1, 0.2, 0.3, 0.4]);
    expect(toNormBox(raw('xy', [100, 100, 100, 300]), { family: 'qwen3-vl', sent: { width: 1, height: 1 } })).toBeUndefined();
    expect(toNormBox(raw('xy', [1100, 100, 1300, 300]), { family: 'qwen3-vl', sent: { width: 1, height: 1 } })).toBeUndefined();
  });
});
