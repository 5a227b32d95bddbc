/**
 * The eval's scoring rules (eval/metrics.ts, eval/labelled.ts) and the labels file they
 * read: pure, fast, and the reason the floor figures mean what docs/quality.md says.
 */
import { describe, expect, it } from 'vitest';
import { COCO_CLASSES } from '../../src/vision/detect/index.js';
import { knownLabels, labelName } from '../../src/engine/compose/labels.js';
import { loadLabels, parseDetectionAnswer } from '../../eval/labelled.js';
import { answeredRight, hallucinatedLabels, namesSubject, readsFirstLine, said, statedCount } from '../../eval/metrics.js';

const names = Object.fromEntries(knownLabels().map((l) => [l, [labelName(l, 'en', 1), labelName(l, 'en', 2)]]));

describe('yes/no answers', () => {
  it('reads the opening Yes/No in English and Chinese', () => {
    expect(said('Yes — a cat, in the centre.')).toBe('yes');
    expect(said('No, I see no dogs.')).toBe('no');
    expect(said('是的，图中有一只猫。')).toBe('yes');
    expect(said('有，一只狗。')).toBe('yes');
    expect(said('没有，图中没有狗。')).toBe('no');
    expect(said('不是。')).toBe('no');
    expect(said('Possibly a cat.')).toBe('other');
  });
  it('counts a hedge only when the answer does not also open with Yes or No', () => {
    expect(answeredRight("I can't tell: squirrels are not among the things I can recognise.", 'unsure')).toBe(true);
    expect(answeredRight('我无法判断这是不是松鼠。', 'unsure')).toBe(true);
    expect(answeredRight('No, I cannot tell.', 'unsure')).toBe(false);
    expect(answeredRight('No, I don\'t see any cats.', 'yes')).toBe(false);
    expect(answeredRight('Yes, there is a motorcycle. No, I don\'t see any cars.', 'yes')).toBe(true);
    expect(answeredRight('I cannot answer that question.', 'yes')).toBe(false);
  });
});

describe('counts, subjects, text, labels', () => {
  it('takes the first count an answer states', () => {
    expect(statedCount('There are two people in the image.')).toBe(2);
    expect(statedCount('There is a dog in the image.')).toBe(1);
    expect(statedCount('I count 7 people.')).toBe(7);
    expect(statedCount('I see no cats in the image.')).toBe(0);
    expect(statedCount('I cannot tell.')).toBeNull();
  });
  it('finds the subject by class name, plural or synonym, as a whole word', () => {
    expect(namesSubject('A photo of two people.', ['person'], names)).toBe(true);
    expect(namesSubject('A man holding a camera.', ['person'], names)).toBe(true);
    expect(namesSubject('A page of text headed "Region-based segmentation".', ['text', 'page'], names)).toBe(true);
    expect(namesSubject('A photo of a dog.', ['cat'], names)).toBe(false);
    expect(namesSubject('A photo of a catamaran.', ['cat'], names)).toBe(false);
  });
  it('accepts a first line only from its first character', () => {
    expect(readsFirstLine('Region-based segmentation\nLet us first…', 'Region-based segmentation')).toBe(true);
    expect(readsFirstLine('The text reads: "Region-based   segmentation', 'Region-based segmentation')).toBe(true);
    expect(readsFirstLine('-based segmentation\ndetermine markers', 'Region-based segmentation')).toBe(false);
    expect(readsFirstLine('上面的文字是：“图像采集 区域', '图像采集区域')).toBe(true);
    expect(readsFirstLine('像采集区域', '图像采集区域')).toBe(false);
  });
  it('calls a reported class hallucinated only when no object of the photo has it as label or alternative', () => {
    const truth = [{ label: 'truck', also: ['car'], box: [0, 0, 1, 1] as [number, number, number, number] }];
    expect(hallucinatedLabels([{ label: 'car' }, { label: 'dog' }, { label: 'dog' }], truth)).toEqual(['dog']);
  });
  it('turns a box_2d answer into normalised boxes with COCO class names', () => {
    const text = '```json\n[{"box_2d": [100, 200, 500, 600], "label": "dogs"}, {"box_2d": [0, 0, 1000, 1000], "label": "possibly a cat"}]\n```';
    const d = parseDetectionAnswer(text, names);
    expect(d.map((x) => x.label)).toEqual(['dog', 'cat']);
    expect(d[0]!.box).toEqual([0.2, 0.1, 0.6, 0.5]);
    expect(parseDetectionAnswer('I cannot see anything.', names)).toEqual([]);
  });
});

describe('eval/labels.json', () => {
  const { photos } = loadLabels();
  const coco = new Set<string>(COCO_CLASSES);
  it('has at least 50 photos from packages, each with questions', () => {
    expect(Object.keys(photos).length).toBeGreaterThanOrEqual(50);
    for (const [name, p] of Object.entries(photos)) {
      expect(p.source.package, name).toMatch(/^[a-z0-9][a-z0-9+.-]+$/);
      expect(p.source.path.endsWith(`/${name}`), name).toBe(true);
      expect(p.questions.length, name).toBeGreaterThan(0);
      for (const q of p.questions) expect(['yes', 'no', 'unsure'], `${name}: ${q.q}`).toContain(q.a);
    }
  });
  it('labels COCO classes with boxes inside the image', () => {
    for (const [name, p] of Object.entries(photos))
      for (const o of p.objects) {
        expect(coco.has(o.label), `${name}: ${o.label}`).toBe(true);
        for (const a of o.also ?? []) expect(coco.has(a), `${name}: ${a}`).toBe(true);
        const [x0, y0, x1, y1] = o.box;
        expect(0 <= x0 && x0 < x1 && x1 <= 1 && 0 <= y0 && y0 < y1 && y1 <= 1, `${name}: ${o.label} ${o.box.join(',')}`).toBe(true);
      }
  });
  it('counts only classes the photo has, within what is labelled', () => {
    for (const [name, p] of Object.entries(photos))
      for (const c of p.counts ?? []) {
        const all = p.objects.filter((o) => o.label === c.label);
        const clear = all.filter((o) => !o.difficult).length;
        const [lo, hi] = c.range ?? [c.n!, c.n!];
        expect(lo <= clear && hi <= all.length && lo <= hi, `${name}: ${c.label}`).toBe(true);
      }
  });
});
