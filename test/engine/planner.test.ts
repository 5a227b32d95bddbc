import { describe, expect, it } from 'vitest';
import { detectLanguage } from '../../src/engine/language.js';
import { planTasks, targetPhrase, type Vocabulary } from '../../src/engine/planner.js';

// A small stand-in for the COCO vocabulary: enough words to test the planner alone.
const WORDS: Record<string, string> = { dog: 'dog', dogs: 'dog', puppies: 'dog', 狗: 'dog', cat: 'cat', cats: 'cat', 貓: 'cat', 猫: 'cat', horses: 'horse', horse: 'horse', people: 'person', person: 'person', car: 'car', 車: 'car' };
const vocabulary: Vocabulary = (phrase) => {
  const classes = new Set<string>();
  const unknown: string[] = [];
  const tokens = /\p{Script=Han}/u.test(phrase) ? [...phrase.replace(/\s/g, '')] : phrase.toLowerCase().split(/\s+/);
  for (const w of tokens) if (WORDS[w]) classes.add(WORDS[w]!);
  if (classes.size === 0 && phrase.trim()) unknown.push(phrase.trim());
  return { classes: [...classes], unknown };
};
const plan = (prompt: string, imageCount = 1, jsonRequested = false) => planTasks(prompt, { imageCount, jsonRequested, vocabulary });

describe('language', () => {
  it('tells English, Traditional and Simplified Chinese apart', () => {
    expect(detectLanguage('Caption this image.')).toBe('en');
    expect(detectLanguage('這張圖片裡有什麼？')).toBe('zh-Hant');
    expect(detectLanguage('这张图片里有什么？')).toBe('zh-Hans');
  });
});

describe('planTasks', () => {
  it("recognises the seed guide's prompts", () => {
    expect(plan('Caption this image.').task).toEqual({ kind: 'caption', detail: 'short' });
    expect(plan('What is this image?').task.kind).toBe('caption');
    expect(plan('What is different between these two images?', 2).task.kind).toBe('compare');
    const detect = plan('Detect the all of the prominent items in the image. The box_2d should be [ymin, xmin, ymax, xmax] normalized to 0-1000.');
    expect(detect.task).toEqual({ kind: 'detect', targets: { all: true, classes: [], unknown: [] } });
    const seg = plan(
      'Give the segmentation masks for the wooden and glass items. Output a JSON list of segmentation masks where each entry contains the 2D bounding box in the key "box_2d", the segmentation mask in key "mask", and the text label in the key "label". Use descriptive labels.',
    );
    expect(seg.task.kind).toBe('segment');
    expect(seg.json).toBe(true);
    expect(seg.task.kind === 'segment' && seg.task.targets.unknown).toEqual(['wooden glass']);
  });

  it('finds named targets, plurals and synonyms', () => {
    expect(plan('How many puppies are in the picture?').task).toEqual({ kind: 'count', targets: { all: false, classes: ['dog'], unknown: [] } });
    expect(plan('Is there a cat?').task).toMatchObject({ kind: 'exists', targets: { classes: ['cat'] } });
    expect(plan('Where is the car?').task).toMatchObject({ kind: 'where', targets: { classes: ['car'] } });
    expect(plan('Detect the dogs and horses').task).toMatchObject({ kind: 'detect', targets: { all: false, classes: ['dog', 'horse'] } });
    expect(plan('Is this a cat or a dog?').task).toEqual({
      kind: 'classify',
      options: [
        { phrase: 'cat', classes: ['cat'] },
        { phrase: 'dog', classes: ['dog'] },
      ],
    });
  });

  it('plans Chinese prompts in both scripts, with the instruction before or after the image', () => {
    expect(plan('圖片裡有幾隻狗？')).toMatchObject({ lang: 'zh-Hant', task: { kind: 'count', targets: { classes: ['dog'] } } });
    expect(plan('图片里有几只猫？')).toMatchObject({ lang: 'zh-Hans', task: { kind: 'count', targets: { classes: ['cat'] } } });
    expect(plan('描述這張圖片')).toMatchObject({ lang: 'zh-Hant', task: { kind: 'caption' } });
    expect(plan('這兩張圖片有什麼不同？', 2).task.kind).toBe('compare');
    expect(plan('讀出圖片中的文字').task.kind).toBe('readText');
  });

  it('keeps unparseable questions honest, not guessed', () => {
    expect(plan('Why is the sky this way?').task.kind).toBe('unknown');
    expect(plan('', 2).task.kind).toBe('compare');
    expect(plan('How many unicorns are there?').task).toEqual({ kind: 'count', targets: { all: false, classes: [], unknown: ['unicorns'] } });
  });

  it('strips instruction words from target phrases', () => {
    expect(targetPhrase('Give the segmentation masks for the dogs in the image.')).toBe('dogs');
  });
});
