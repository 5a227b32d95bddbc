import { describe, expect, it } from 'vitest';
import { detectLanguage } from '../../src/engine/language.js';
import { planTasks, targetPhrase, type Vocabulary } from '../../src/engine/planner.js';
import { vocabulary as coco } from '../../src/vision/detect/coco.js';

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
    expect(plan('Is there a cat?').task).toMatchObject({ kind: 'yesno', targets: { classes: ['cat'] }, attribute: { kind: 'exists' } });
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

describe('yes/no questions (with the real COCO vocabulary)', () => {
  const real = (prompt: string, imageCount = 1) => planTasks(prompt, { imageCount, jsonRequested: false, vocabulary: coco });
  const yesno = (prompt: string) => {
    const task = real(prompt).task;
    if (task.kind !== 'yesno') throw new Error(`${prompt}: planned as ${task.kind}`);
    return task;
  };

  it('recognises English yes/no forms, and keeps requests phrased as questions as requests', () => {
    for (const q of ['Is there a cat in this image?', 'Are there any dogs?', 'Does this image show a horse?', 'Can you see a bicycle?', 'Do you see any people?', 'Any cars?'])
      expect(real(q).task.kind, q).toBe('yesno');
    expect(real('Can you describe this image?').task.kind).toBe('caption');
    expect(real('Could you read the text?').task.kind).toBe('readText');
    expect(real('Can you detect the dogs?').task.kind).toBe('detect');
    expect(real('Is this a cat or a dog?').task.kind).toBe('classify');
    expect(real('Are these two images the same?', 2).task.kind).toBe('compare');
    expect(real('Is the person smiling?').task.kind).toBe('people');
  });

  it('answers about a category as one term: animal, vehicle, food, furniture, electronics, kitchenware, person, sports equipment', () => {
    const cases: Array<[string, string, string]> = [
      ['Is this a photo of an animal?', 'animal', 'cat'],
      ['Is there a vehicle in this picture?', 'vehicle', 'motorcycle'],
      ['Is there any food?', 'food', 'pizza'],
      ['Is there furniture?', 'furniture', 'couch'],
      ['Are there any electronics?', 'electronics', 'laptop'],
      ['Is there any kitchenware?', 'kitchenware', 'cup'],
      ['Is there a person?', 'person', 'person'],
      ['Is there sports equipment?', 'sports equipment', 'sports ball'],
    ];
    for (const [q, term, member] of cases) {
      const t = yesno(q);
      expect(t.targets.terms, q).toHaveLength(1);
      expect(t.targets.terms![0]!.text, q).toBe(term);
      expect(t.targets.terms![0]!.classes, q).toContain(member);
      expect(t.attribute, q).toEqual({ kind: 'exists' });
    }
    expect(yesno('Is this a photo of an animal?').copula).toBe(true);
    expect(yesno('Is there a cat or a dog?')).toMatchObject({ any: true, targets: { classes: ['cat', 'dog'] } });
    expect(yesno('Are there a dog and a cat?')).toMatchObject({ any: false, targets: { classes: ['dog', 'cat'] } });
  });

  it('finds the attribute asked about: count, colour, position, size, text, light', () => {
    expect(yesno('Are there more than two people?')).toMatchObject({ attribute: { kind: 'count', op: '>', n: 2 }, targets: { classes: ['person'] } });
    expect(yesno('Are there at least 3 dogs?').attribute).toEqual({ kind: 'count', op: '>=', n: 3 });
    expect(yesno('Is there only one cat?').attribute).toEqual({ kind: 'count', op: '=', n: 1 });
    expect(yesno('Is there one cat?').attribute).toEqual({ kind: 'exists' });
    expect(yesno('Is the car red?')).toMatchObject({ attribute: { kind: 'colour', colour: 'red' }, targets: { classes: ['car'] } });
    expect(yesno('Is the car orange?')).toMatchObject({ attribute: { kind: 'colour', colour: 'orange' }, targets: { classes: ['car'] } });
    expect(yesno('Is the dog on the left?')).toMatchObject({ attribute: { kind: 'position', place: 'left' }, targets: { classes: ['dog'] } });
    expect(yesno('Is the dog big?').attribute).toEqual({ kind: 'size', size: 'large' });
    expect(yesno('Is there text in this image?')).toMatchObject({ attribute: { kind: 'text' }, targets: { classes: [], unknown: [] } });
    expect(yesno('Is the photo dark?').attribute).toEqual({ kind: 'light', light: 'dark' });
  });

  it('plans Chinese yes/no questions in both scripts', () => {
    expect(real('有沒有貓？')).toMatchObject({ lang: 'zh-Hant', task: { kind: 'yesno', targets: { classes: ['cat'] }, copula: false } });
    expect(real('图片里有狗吗？')).toMatchObject({ lang: 'zh-Hans', task: { kind: 'yesno', targets: { classes: ['dog'] } } });
    expect(real('這是動物的照片嗎？')).toMatchObject({ task: { kind: 'yesno', copula: true, targets: { terms: [{ text: '動物' }] } } });
    expect(real('圖中有交通工具嗎？').task).toMatchObject({ kind: 'yesno', targets: { terms: [{ text: '交通工具' }] } });
    expect(real('有超過兩個人嗎？').task).toMatchObject({ kind: 'yesno', attribute: { kind: 'count', op: '>', n: 2 }, targets: { classes: ['person'] } });
    expect(real('車子是紅色的嗎？').task).toMatchObject({ kind: 'yesno', attribute: { kind: 'colour', colour: 'red' }, targets: { classes: ['car'] } });
    expect(real('狗在左邊嗎？').task).toMatchObject({ kind: 'yesno', attribute: { kind: 'position', place: 'left' } });
    expect(real('圖片裡有文字嗎？').task).toMatchObject({ kind: 'yesno', attribute: { kind: 'text' } });
    expect(real('你可以描述這張圖片嗎？').task.kind).toBe('caption');
    expect(real('這是貓還是狗？').task.kind).toBe('classify');
  });

  it('keeps things outside COCO as unknown, never as a class', () => {
    expect(yesno('Is there a unicorn?').targets).toMatchObject({ classes: [], unknown: ['unicorn'] });
  });
});
