/**
 * Yes/no answers and the one confidence policy, composed from facts (no models): "Yes"/"No"
 * first, one sentence, the evidence named; low scores said as "possibly", never denied;
 * counts, captions and boxes read the same detections.
 */
import { describe, expect, it } from 'vitest';
import { composeAnswer } from '../../src/engine/compose/answer.js';
import { bandOf, splitByConfidence } from '../../src/engine/compose/confidence.js';
import type { ImageFacts, RequestFacts } from '../../src/engine/compose/facts.js';
import { planTasks, type Plan } from '../../src/engine/planner.js';
import type { DetectedObject } from '../../src/vision/analysis.js';
import { vocabulary } from '../../src/vision/detect/coco.js';

const img = (objects: DetectedObject[], over: Partial<ImageFacts> = {}): ImageFacts => ({
  index: 1,
  width: 640,
  height: 480,
  format: 'jpeg',
  objects,
  colours: [{ name: 'grey', hex: '#808080', fraction: 0.6 }],
  brightness: 0.5,
  hash: 'h',
  detectThreshold: 0.5, // sure from 0.8, likely 0.5–0.8, possible 0.3–0.5
  ...over,
});
const facts = (...images: ImageFacts[]): RequestFacts => ({ images, differences: [] });
const plan = (prompt: string, imageCount = 1): Plan => planTasks(prompt, { imageCount, jsonRequested: false, vocabulary });
const answer = (prompt: string, f: RequestFacts) => composeAnswer(plan(prompt), f).sentences.join(' ');

const cat = (score: number, box: DetectedObject['box'] = [0.3, 0.3, 0.7, 0.7], extra: Partial<DetectedObject> = {}): DetectedObject => ({ label: 'cat', score, box, ...extra });
const dog = (score: number, box: DetectedObject['box'] = [0.3, 0.3, 0.7, 0.7], extra: Partial<DetectedObject> = {}): DetectedObject => ({ label: 'dog', score, box, ...extra });

describe('confidence bands', () => {
  it('are measured from the detector’s own threshold', () => {
    expect([0.95, 0.8, 0.7, 0.5, 0.4, 0.3, 0.29].map((s) => bandOf(s, 0.5))).toEqual(['sure', 'sure', 'likely', 'likely', 'possible', 'possible', undefined]);
    // CenterNet scores lower: its threshold 0.4 puts 0.48 in "likely", not "possible".
    expect(bandOf(0.48, 0.4)).toBe('likely');
    expect(splitByConfidence([cat(0.9), dog(0.35), cat(0.1)], 0.5)).toEqual({ asserted: [cat(0.9)], possible: [dog(0.35)] });
  });
});

describe('yes/no answers', () => {
  it('say Yes first with the evidence: the thing and where it is', () => {
    expect(answer('Is there a cat in this image?', facts(img([cat(0.93)])))).toBe('Yes — a cat, in the centre.');
    expect(answer('有沒有貓？', facts(img([cat(0.93)])))).toBe('有，一隻貓，在中間。');
    expect(answer('这是一只猫吗？', facts(img([cat(0.93)])))).toBe('是，一只猫，在中间。');
  });

  it('say No with what was seen instead, in one sentence', () => {
    expect(answer('Is there a cat?', facts(img([dog(0.9)])))).toBe('No — I see a dog, not a cat.');
    expect(answer('Is there a cat?', facts(img([{ label: 'car', score: 0.9, box: [0, 0, 0.3, 0.3] }])))).toBe('No — I see a car, but no cat.');
    expect(answer('Is there a cat?', facts(img([])))).toBe('No — I see no cat.');
    expect(answer('有沒有貓？', facts(img([dog(0.9)])))).toBe('沒有，我看到的是一隻狗，不是貓。');
  });

  it('answer a category with one sentence, naming the member found', () => {
    const moto: DetectedObject = { label: 'motorcycle', score: 0.98, box: [0.02, 0.2, 0.3, 0.8] };
    expect(answer('Is there a vehicle in this picture?', facts(img([moto])))).toBe('Yes — a motorcycle, at the left.');
    expect(answer('Is this a photo of an animal?', facts(img([cat(0.9)])))).toBe('Yes — a cat, in the centre.');
    expect(answer('Is there any food?', facts(img([cat(0.9)])))).toBe('No — I see a cat, but no food.');
    expect(answer('圖中有交通工具嗎？', facts(img([moto])))).toBe('有，一輛機車，在左側。');
  });

  it('hedge instead of asserting or denying what the detector is unsure of', () => {
    // likely (0.5–0.8): "probably", after the Yes/No; a likely rival makes the denial "probably not".
    expect(answer('Is there a dog?', facts(img([dog(0.6)])))).toBe('Yes — probably a dog, in the centre.');
    expect(answer('Is there a cat?', facts(img([dog(0.6)])))).toBe('No, probably not — it looks more like a dog than a cat.');
    expect(answer('有沒有貓？', facts(img([dog(0.6)])))).toBe('沒有（不太確定），看起來比較像狗，不像貓。');
    expect(answer('有沒有狗？', facts(img([dog(0.6)])))).toBe('有，看起來是一隻狗，在中間。');
    // possible (under the threshold): never "No".
    expect(answer('Is there a cat?', facts(img([cat(0.4)])))).toBe('Possibly — perhaps a cat, in the centre, but the detector is not sure.');
    // a close second class for the same box makes a likely label either; a sure one stands
    const confused = dog(0.7, [0.3, 0.3, 0.7, 0.7], { alternatives: [{ label: 'cat', score: 0.6 }] });
    expect(answer('Is there a cat?', facts(img([dog(0.87, [0.3, 0.3, 0.7, 0.7], { alternatives: [{ label: 'cat', score: 0.64 }] })])))).toBe('No — I see a dog, not a cat.');
    expect(answer('Is there a dog?', facts(img([confused])))).toBe('Possibly — the dog in the centre could also be a cat.');
    expect(answer('Is there a cat?', facts(img([confused])))).toBe('Possibly — the dog in the centre could also be a cat.');
    expect(answer('Caption this image.', facts(img([confused])))).toMatch(/^A photo of a dog \(or possibly a cat\)\./);
    // a sure label whose runner-up nearly ties it (cat 0.84, dog 0.82 on a noisy dog.jpg copy) is not asserted alone
    const tie = cat(0.84, [0.3, 0.3, 0.7, 0.7], { alternatives: [{ label: 'dog', score: 0.82 }] });
    expect(answer('Is there a cat?', facts(img([tie])))).toMatch(/^Possibly — /);
    expect(answer('Is there a dog?', facts(img([tie])))).toMatch(/^Possibly — /);
    expect(answer('Caption this image.', facts(img([tie])))).toMatch(/^A photo of a cat \(or possibly a dog\)\./);
  });

  it('answer attributes from measured facts: count, colour, position, size, text, light', () => {
    const people = [0.1, 0.4, 0.7].map((x): DetectedObject => ({ label: 'person', score: 0.9, box: [x, 0.2, x + 0.15, 0.9] }));
    expect(answer('Are there more than two people?', facts(img(people)))).toBe('Yes — I count three people.');
    expect(answer('Are there more than three people?', facts(img(people)))).toBe('No — I count three people.');
    expect(answer('Are there more than three people?', facts(img([...people, { label: 'person', score: 0.4, box: [0.85, 0.2, 0.95, 0.9] }])))).toBe(
      'Possibly — I count three people, and possibly 1 more.',
    );
    const car: DetectedObject = { label: 'car', score: 0.9, box: [0.6, 0.1, 0.9, 0.3] };
    const colours = [[{ name: 'red', hex: '#c00000', fraction: 0.7 }, { name: 'black', hex: '#000000', fraction: 0.2 }]];
    expect(answer('Is the car red?', facts(img([car], { objectColours: colours })))).toBe('Yes — the car is mostly red and black.');
    expect(answer('Is the car blue?', facts(img([car], { objectColours: colours })))).toBe('No — the car is mostly red and black.');
    const fairing = [[{ name: 'grey', hex: '#888888', fraction: 0.5 }, { name: 'dark grey', hex: '#333333', fraction: 0.28 }, { name: 'red', hex: '#dd3230', fraction: 0.12 }, { name: 'dark red', hex: '#7f241e', fraction: 0.1 }]];
    expect(answer('Is the car red?', facts(img([car], { objectColours: fairing })))).toBe('Yes — the car is partly red (about 22%), mostly grey and dark grey.');
    expect(answer('Is the car on the left?', facts(img([car])))).toBe('No — the car is at the upper right.');
    expect(answer('Is the car on the right?', facts(img([car])))).toBe('Yes — the car is at the upper right.');
    expect(answer('Is the car big?', facts(img([car])))).toBe('No — the car fills about 6% of the picture.');
    const text = [{ text: 'OCELLUS 2026', confidence: 0.9, box: [0.1, 0.1, 0.9, 0.3] as [number, number, number, number] }];
    expect(answer('Is there text in this image?', facts(img([], { text })))).toBe('Yes — it reads "OCELLUS 2026".');
    expect(answer('Is there text in this image?', facts(img([])))).toBe('No — I find no readable text.');
    expect(answer('Is the photo dark?', facts(img([], { brightness: 0.1 })))).toBe('Yes — its mean brightness is 10%.');
  });

  it('say plainly what the offline models cannot tell, never a confident No', () => {
    expect(answer('Is this dog a labrador?', facts(img([dog(0.9)])))).toMatch(/^I can't tell whether it is a labrador: /);
    const bird: DetectedObject = { label: 'bird', score: 0.95, box: [0.2, 0.2, 0.8, 0.8] };
    expect(answer('Is this a golden eagle?', facts(img([bird])))).toBe(
      "I can't tell whether it is an eagle: I see a bird, in the centre, but the offline models do not tell kinds of birds apart.",
    );
    expect(answer('Is there an eagle?', facts(img([dog(0.9)])))).toMatch(/^No — /);
    expect(answer('Is there a unicorn?', facts(img([cat(0.9)])))).toMatch(/^I can't tell whether there is a unicorn: the offline models know only 80/);
    expect(answer('有沒有獨角獸？', facts(img([])))).toMatch(/^我無法判斷是否有獨角獸/);
  });
});

describe('one analysis, one policy: counts, boxes, captions and answers agree', () => {
  const objects = [dog(0.9, [0.1, 0.3, 0.4, 0.9]), dog(0.55, [0.6, 0.3, 0.9, 0.9]), dog(0.35, [0.45, 0.1, 0.55, 0.2]), { label: 'bicycle', score: 0.1, box: [0, 0, 1, 1] as DetectedObject['box'] }];
  const f = facts(img(objects));
  it('count equals the boxes of the detection list', () => {
    const boxes = composeAnswer(plan('Detect all of the prominent items in the image.'), f).data as Array<{ label: string }>;
    const counted = composeAnswer(plan('How many dogs are there?'), f);
    expect(boxes.filter((b) => b.label === 'dog')).toHaveLength(2);
    expect(counted.data).toEqual({ dog: 2 });
    expect(counted.sentences[0]).toBe('There are two dogs in the image.');
    expect(answer('Caption this image.', f)).toMatch(/^A photo of two dogs\./);
    expect(answer('Are there two dogs?', f)).toBe('Yes — I count two dogs, and possibly 1 more.'.replace('Yes', 'Possibly'));
    expect(answer('Is there a bicycle?', f)).toBe('No — I see two dogs, but no bicycle.');
  });
});

describe('captions of pages of text', () => {
  const line = (text: string, y: number) => ({ text, confidence: 0.9, box: [0.05, y, 0.95, y + 0.08] as [number, number, number, number] });
  const page = img([], { textPage: true, text: [line('Region-based segmentation', 0.05), line('Let us first determine markers of the coins', 0.2), line('and the background.', 0.35)] });
  it('say it is a page and give its first line, in English and Chinese', () => {
    expect(answer('Caption this image.', facts(page))).toBe('A page of text headed "Region-based segmentation" (3 lines).');
    expect(answer('描述這張圖片', facts(page))).toBe('一頁文字，標題是「Region-based segmentation」（共 3 行）。');
    expect(answer('描述这张图片', facts(page))).toMatch(/^一页文字，标题是“Region-based segmentation”/);
  });
  it('leave photos with a little text as photos', () => {
    const sign = img([{ label: 'stop sign', score: 0.9, box: [0.3, 0.3, 0.6, 0.6] }], { text: [line('STOP', 0.4)] });
    expect(answer('Caption this image.', facts(sign))).toMatch(/^A photo of a stop sign\./);
  });
});

describe('yes/no answers as data', () => {
  it('fill a boolean field and pick the enum value by the verdict', async () => {
    const { renderAnswer } = await import('../../src/engine/compose/render.js');
    const f = facts(img([dog(0.9)]));
    const a = composeAnswer(plan('Is there a cat?'), f);
    expect(renderAnswer(a, f, { mimeType: 'text/x.enum', jsonSchema: { type: 'string', enum: ['yes', 'no'] } }, 'en', false)).toEqual(['no']);
    const json = renderAnswer(a, f, { mimeType: 'application/json', jsonSchema: { type: 'object', properties: { present: { type: 'boolean' } } } }, 'en', false).join('');
    expect(JSON.parse(json)).toEqual({ present: false });
  });
});
