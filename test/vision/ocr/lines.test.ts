import { describe, expect, it } from 'vitest';
import {
  chooseLines,
  cleanText,
  detectScript,
  groupRows,
  hasContent,
  joinText,
  linesScore,
  mergeLines,
  needsFallback,
  normaliseConfidence,
  pickReader,
  pixelBoxToBox,
  respace,
  quadToBox,
  normaliseQuad,
  sortReadingOrder,
  textAngle,
  visibleLength,
} from '../../../src/vision/ocr/lines.js';
import type { Box, Quad, TextLine } from '../../../src/vision/ocr/types.js';

const line = (text: string, box: Box, confidence = 0.9): TextLine => ({ text, confidence, box });

describe('quadToBox', () => {
  it('turns a rotated quad into the normalised axis-aligned box around it', () => {
    const quad = [
      [110, 50],
      [300, 70],
      [295, 120],
      [105, 100],
    ];
    expect(quadToBox(quad, 400, 200)).toEqual([105 / 400, 50 / 200, 300 / 400, 120 / 200]);
  });

  it('does not depend on corner order and clamps to the image', () => {
    const a = quadToBox(
      [
        [-5, 10],
        [50, -3],
        [60, 90],
        [0, 250],
      ],
      100,
      200,
    );
    expect(a).toEqual([0, 0, 0.6, 1]);
    expect(
      quadToBox(
        [
          [60, 90],
          [0, 250],
          [-5, 10],
          [50, -3],
        ],
        100,
        200,
      ),
    ).toEqual(a);
  });

  it('rejects empty and non-finite input', () => {
    expect(() => quadToBox([], 10, 10)).toThrow();
    expect(() => quadToBox([[NaN, 1]], 10, 10)).toThrow();
  });

  it('normalises a reader\'s four corners, and refuses anything else', () => {
    expect(
      normaliseQuad(
        [
          [10, 20],
          [110, 10],
          [120, 60],
          [-4, 70],
        ],
        200,
        100,
      ),
    ).toEqual([
      [0.05, 0.2],
      [0.55, 0.1],
      [0.6, 0.6],
      [0, 0.7],
    ]);
    expect(normaliseQuad([[0, 0]], 10, 10)).toBeUndefined();
    expect(
      normaliseQuad(
        [
          [0, 0],
          [1, NaN],
          [1, 1],
          [0, 1],
        ],
        10,
        10,
      ),
    ).toBeUndefined();
  });

  it('normalises tesseract pixel rectangles', () => {
    expect(pixelBoxToBox({ x0: 64, y0: 24, x1: 320, y1: 48 }, 640, 240)).toEqual([0.1, 0.1, 0.5, 0.2]);
  });
});

describe('normaliseConfidence', () => {
  it('maps engine scales onto 0..1 and clamps', () => {
    expect(normaliseConfidence(93, 100)).toBeCloseTo(0.93);
    expect(normaliseConfidence(0.98)).toBe(0.98);
    expect(normaliseConfidence(120, 100)).toBe(1);
    expect(normaliseConfidence(-3, 100)).toBe(0);
  });
  it('treats NaN, infinities and a bad scale as 0', () => {
    expect(normaliseConfidence(NaN)).toBe(0);
    expect(normaliseConfidence(Infinity)).toBe(0);
    expect(normaliseConfidence(0.5, 0)).toBe(0);
  });
});

describe('text helpers', () => {
  it('cleans whitespace and spots content', () => {
    expect(cleanText('  OCELLUS \n 2026\t')).toBe('OCELLUS 2026');
    expect(hasContent(' | — . ')).toBe(false);
    expect(hasContent('影')).toBe(true);
    expect(hasContent('2')).toBe(true);
  });
  it('counts visible code points', () => {
    expect(visibleLength('你好 世界')).toBe(4);
    expect(visibleLength('a b')).toBe(2);
  });
  it('joins CJK without a space and everything else with one', () => {
    expect(joinText('你好', '世界')).toBe('你好世界');
    expect(joinText('你好', 'OCR')).toBe('你好 OCR');
    expect(joinText('image', 'understanding')).toBe('image understanding');
    expect(joinText('', 'x')).toBe('x');
  });
  it('detects the dominant script', () => {
    expect(detectScript('这张图片上写了什么？')).toBe('cjk');
    expect(detectScript('What does the sign say?')).toBe('latin');
    expect(detectScript('Read 中文文字')).toBe('cjk'); // a Han character weighs 3 Latin letters: 12 vs 4
    expect(detectScript('Read 中文 please')).toBe('latin'); // 6 vs 10
    expect(detectScript('1234 ?!')).toBeUndefined();
  });
});

describe('reading order', () => {
  it('sorts rows top to bottom and lines left to right', () => {
    const lines = [
      line('c', [0.1, 0.5, 0.3, 0.6]),
      line('b', [0.6, 0.11, 0.9, 0.19]),
      line('a', [0.1, 0.1, 0.4, 0.2]),
      line('d', [0.5, 0.52, 0.7, 0.61]),
    ];
    expect(sortReadingOrder(lines).map((l) => l.text)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('keeps slightly skewed lines of one row together, and separate rows apart', () => {
    const rows = groupRows([
      line('left', [0.05, 0.1, 0.3, 0.2]),
      line('right', [0.5, 0.14, 0.8, 0.24]), // overlaps 0.06 of 0.1: same row
      line('below', [0.05, 0.22, 0.3, 0.32]), // overlaps the row only through 'right' (0.02): new row
    ]);
    expect(rows.map((r) => r.map((l) => l.text))).toEqual([['left', 'right'], ['below']]);
  });

  it('keeps the lines of a tilted page apart, in order, using the readers\' rotated rectangles', () => {
    // Three long lines of a page photographed at 10°: in image axes each line's box spans
    // most of the next line's too, so without the rectangles rows run together.
    const tilt = (10 * Math.PI) / 180;
    const tilted = (text: string, row: number, x0: number, x1: number): TextLine => {
      const y = (x: number): number => 0.3 + row * 0.08 - (x - 0.1) * Math.tan(tilt);
      const h = 0.05;
      const quad: Quad = [
        [x0, y(x0)],
        [x1, y(x1)],
        [x1, y(x1) + h],
        [x0, y(x0) + h],
      ];
      return { text, confidence: 0.9, box: [x0, Math.min(y(x0), y(x1)), x1, Math.max(y(x0), y(x1)) + h], quad };
    };
    const lines = [
      tilted('third line', 2, 0.1, 0.9),
      tilted('first line', 0, 0.1, 0.9),
      tilted('second line, right half', 1, 0.55, 0.9),
      tilted('second line,', 1, 0.1, 0.5),
    ];
    expect(textAngle(lines)).toBeCloseTo(-tilt, 5);
    // Without the rectangles the lines overlap their neighbours: rows run together.
    expect(groupRows(lines.map(({ quad: _q, ...l }) => l)).length).toBeLessThan(3);
    const merged = mergeLines(lines);
    expect(merged.map((l) => l.text)).toEqual(['first line', 'second line, second line, right half', 'third line']);
    // The merged line keeps a rotated rectangle around both halves.
    const q = merged[1]!.quad!;
    expect(q[0][0]).toBeCloseTo(0.1, 1);
    expect(q[1][0]).toBeCloseTo(0.9, 1);
    expect(q[0][1]).toBeGreaterThan(q[1][1]); // still rising to the right
  });

  it('ignores vertical text when finding the angle, and is 0 without rectangles', () => {
    const column: TextLine = {
      text: '竖排',
      confidence: 0.9,
      box: [0.1, 0.1, 0.15, 0.6],
      quad: [
        [0.1, 0.1],
        [0.15, 0.1],
        [0.15, 0.6],
        [0.1, 0.6],
      ],
    };
    expect(textAngle([column])).toBe(0);
    expect(textAngle([line('a', [0, 0, 1, 0.1])])).toBe(0);
  });

  it('returns an empty list for no lines', () => {
    expect(sortReadingOrder([])).toEqual([]);
    expect(mergeLines([])).toEqual([]);
  });
});

describe('mergeLines', () => {
  it('merges close fragments of a row, weighting confidence by characters', () => {
    const merged = mergeLines(
      [line('understanding', [0.4, 0.5, 0.7, 0.6], 1), line('image', [0.1, 0.5, 0.35, 0.6], 0.5)],
      { aspect: 1 },
    );
    expect(merged).toHaveLength(1);
    expect(merged[0]!.text).toBe('image understanding');
    expect(merged[0]!.box).toEqual([0.1, 0.5, 0.7, 0.6]);
    expect(merged[0]!.confidence).toBeCloseTo((5 * 0.5 + 13 * 1) / 18);
  });

  it('joins CJK fragments without a space', () => {
    const merged = mergeLines([line('你好', [0.1, 0.1, 0.2, 0.2]), line('世界', [0.22, 0.1, 0.32, 0.2])]);
    expect(merged.map((l) => l.text)).toEqual(['你好世界']);
  });

  it('keeps columns apart, using the aspect ratio to measure gaps', () => {
    const cols = [line('left', [0.05, 0.1, 0.3, 0.15]), line('right', [0.6, 0.1, 0.9, 0.15])];
    // 0.3 of the width on a 2:1 image is 0.6 of the height = 12 line heights.
    expect(mergeLines(cols, { aspect: 2 }).map((l) => l.text)).toEqual(['left', 'right']);
    // The same normalised gap on a very tall image is 0.3 × 0.05 / 0.05 = 0.3 line heights.
    expect(mergeLines(cols, { aspect: 0.05 }).map((l) => l.text)).toEqual(['left right']);
  });

  it('does not mutate its input', () => {
    const input = [line('a', [0.1, 0.1, 0.2, 0.2]), line('b', [0.21, 0.1, 0.3, 0.2])];
    const copy = structuredClone(input);
    mergeLines(input);
    expect(input).toEqual(copy);
  });
});

describe('pickReader', () => {
  it('uses tesseract for English prompts and paddle for CJK ones', () => {
    expect(pickReader('What does the sign say?')).toBe('tesseract');
    expect(pickReader('图片上的文字是什么？')).toBe('paddle');
    expect(pickReader('画像の文字を読んで')).toBe('paddle');
    expect(pickReader('')).toBe('tesseract');
  });
  it('uses paddle when an English prompt asks about Chinese text', () => {
    expect(pickReader('Transcribe the Chinese characters on the banner')).toBe('paddle');
    expect(pickReader('Translate the kanji')).toBe('paddle');
    expect(pickReader('Read the 中文 text')).toBe('paddle');
    expect(pickReader('Is this machine translated?')).toBe('tesseract');
  });
  it('lets a detected script hint override the prompt', () => {
    expect(pickReader('What does it say?', 'cjk')).toBe('paddle');
    expect(pickReader('上面写着什么？', 'latin')).toBe('tesseract');
  });
});

describe('fallback', () => {
  const garbage = [line('RAFAH FR', [0, 0, 1, 0.5], 0), line('ARIE', [0, 0.5, 1, 1], 0.34)];
  const page = Array.from({ length: 5 }, (_, i) => line('Let us first determine markers of the coins', [0, i / 5, 1, (i + 1) / 5]));
  it('asks for paddle when tesseract kept nothing: its layout analysis finds no text in photos', () => {
    expect(needsFallback([], [])).toBe(true);
    expect(needsFallback([], garbage)).toBe(true);
    expect(needsFallback([line('| —', [0, 0, 1, 1])], [])).toBe(true); // nothing with a letter kept
  });
  it('asks for paddle when tesseract dropped more than a tenth of what it kept', () => {
    expect(needsFallback([line('OCELLUS 2026 image understanding', [0, 0, 1, 1])], garbage)).toBe(true); // 11 of 29
    expect(needsFallback(page, garbage)).toBe(false); // 11 of 185
  });
  it('ignores a few dropped characters and pure punctuation', () => {
    expect(needsFallback([line('EXIT 12', [0, 0, 1, 1])], [line('Nl', [0, 0, 1, 1], 0.46)])).toBe(false);
    expect(needsFallback([line('EXIT 12', [0, 0, 1, 1])], [line('| — | —', [0, 0, 1, 1], 0.1)])).toBe(false);
  });
  it('keeps the result with more confidently read characters; ties go to the first', () => {
    const tess = { lines: [] as TextLine[] };
    const paddle = { lines: [line('你好世界', [0, 0, 1, 1], 0.99)] };
    expect(chooseLines(tess, paddle)).toBe(paddle);
    expect(linesScore(paddle.lines)).toBeCloseTo(3.96);
    const same = { lines: [line('abc', [0, 0, 1, 1], 0.9)] };
    expect(chooseLines(same, { lines: [line('abc', [0, 0, 1, 1], 0.9)] })).toBe(same);
  });
});

describe('respace', () => {
  it("takes tesseract's spacing where both read the same characters on the same row", () => {
    const paddle = [line('themarkers are found', [0.01, 0.5, 0.99, 0.65]), line('histogramof grey', [0.01, 0.6, 0.45, 0.74])];
    const tess = [line('the markers are found', [0.02, 0.52, 0.98, 0.6]), line('stogram of grey', [0.05, 0.62, 0.45, 0.72])];
    const out = respace(paddle, tess);
    expect(out.map((l) => l.text)).toEqual(['the markers are found', 'histogramof grey']); // other characters: PP-OCR's line stays
    expect(out[0]!.box).toEqual(paddle[0]!.box);
    expect(respace(paddle, [line('the markers are found', [0, 0, 1, 0.1])])[0]!.text).toBe('themarkers are found'); // another row
  });
});
