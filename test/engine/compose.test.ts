import { describe, expect, it } from 'vitest';
import { composeAnswer, toBox2d } from '../../src/engine/compose/answer.js';
import type { ImageFacts, RequestFacts } from '../../src/engine/compose/facts.js';
import { renderAnswer } from '../../src/engine/compose/render.js';
import type { Plan, Targets } from '../../src/engine/planner.js';

const img = (over: Partial<ImageFacts> = {}): ImageFacts => ({
  index: 1,
  width: 768,
  height: 576,
  format: 'jpeg',
  objects: [
    { label: 'dog', score: 0.9, box: [0.15, 0.38, 0.42, 0.94] },
    { label: 'bicycle', score: 0.8, box: [0.16, 0.2, 0.74, 0.75] },
    { label: 'truck', score: 0.7, box: [0.6, 0.12, 0.9, 0.3] },
  ],
  colours: [{ name: 'grey', hex: '#808080', fraction: 0.5 }, { name: 'green', hex: '#30a030', fraction: 0.3 }],
  brightness: 0.5,
  hash: 'a',
  ...over,
});
const facts = (...images: ImageFacts[]): RequestFacts => ({ images, differences: [] });
const all: Targets = { all: true, classes: [], unknown: [] };
const en = (task: Plan['task'], json = false): Plan => ({ lang: 'en', task, json });

describe('toBox2d', () => {
  it('is [ymin, xmin, ymax, xmax] in integers 0..1000', () => {
    expect(toBox2d([0.1, 0.2, 0.30049, 1.2])).toEqual([200, 100, 1000, 300]);
  });
});

describe('composeAnswer', () => {
  it('captions from detections only, with places', () => {
    const a = composeAnswer(en({ kind: 'caption', detail: 'short' }), facts(img()));
    const text = a.sentences.join(' ');
    expect(text).toMatch(/^A photo of a bicycle, a dog and a truck\./);
    expect(text).toContain('The bicycle is at the centre');
    expect(text).not.toMatch(/cat|person/);
  });

  it('says plainly when it recognises nothing, and gives only measurements', () => {
    const text = composeAnswer(en({ kind: 'caption', detail: 'short' }), facts(img({ objects: [] }))).sentences.join(' ');
    expect(text).toMatch(/cannot recognise any of the 80/);
    expect(text).toMatch(/mostly grey, and green|mostly grey and green/);
  });

  it('answers detection as Gemini box_2d items', () => {
    const a = composeAnswer(en({ kind: 'detect', targets: all }), facts(img()));
    expect(a.data).toEqual([
      { box_2d: [380, 150, 940, 420], label: 'dog' },
      { box_2d: [200, 160, 750, 740], label: 'bicycle' },
      { box_2d: [120, 600, 300, 900], label: 'truck' },
    ]);
    const onlyDogs = composeAnswer(en({ kind: 'detect', targets: { all: false, classes: ['dog'], unknown: [] } }), facts(img()));
    expect(onlyDogs.data).toHaveLength(1);
  });

  it('counts, answers yes/no and names what it does not know', () => {
    const count = composeAnswer(en({ kind: 'count', targets: { all: false, classes: ['dog', 'cat'], unknown: ['unicorns'] } }), facts(img()));
    expect(count.sentences).toEqual([
      'There is a dog in the image.',
      'I see no cats in the image.',
      expect.stringMatching(/cannot recognise "unicorns"/),
    ]);
    expect(count.data).toEqual({ dog: 1, cat: 0 });
    const exists = composeAnswer(en({ kind: 'yesno', targets: { all: false, classes: ['cat'], unknown: [] }, attribute: { kind: 'exists' }, any: false, copula: false }), facts(img()));
    expect(exists.sentences[0]).toBe('No — I see a dog, not a cat.');
  });

  it('classifies by the stronger detection', () => {
    const a = composeAnswer(en({ kind: 'classify', options: [{ phrase: 'cat', classes: ['cat'] }, { phrase: 'dog', classes: ['dog'] }] }), facts(img()));
    expect(a.sentences[0]).toBe('It is a dog.');
  });

  it('answers in Traditional and Simplified Chinese', () => {
    const hant = composeAnswer({ lang: 'zh-Hant', task: { kind: 'count', targets: { all: false, classes: ['dog'], unknown: [] } }, json: false }, facts(img()));
    expect(hant.sentences[0]).toBe('圖片中有一隻狗。');
    const hans = composeAnswer({ lang: 'zh-Hans', task: { kind: 'caption', detail: 'short' }, json: false }, facts(img()));
    expect(hans.sentences[0]).toBe('一张有一辆自行车、一只狗和一辆卡车的照片。');
  });

  it('compares two images by objects and pixels', () => {
    const b = img({ index: 2, hash: 'b', objects: [{ label: 'dog', score: 0.9, box: [0.15, 0.38, 0.42, 0.94] }] });
    const f: RequestFacts = {
      images: [img(), b],
      differences: [{ images: [1, 2], identicalBytes: false, changedFraction: 0.2, meanDifference: 0.1, regions: [{ box_2d: [100, 600, 300, 900], area: 0.1 }] }],
    };
    const text = composeAnswer(en({ kind: 'compare' }), f).sentences.join(' ');
    expect(text).toContain('Only image 1 has a bicycle and a truck.');
    expect(text).toContain('Images 1 and 2 differ in about 20% of their area, mostly at the upper right.');
  });
});

describe('renderAnswer', () => {
  const detect = composeAnswer(en({ kind: 'detect', targets: all }), facts(img()));
  it('writes raw JSON for application/json', () => {
    const text = renderAnswer(detect, facts(img()), { mimeType: 'application/json' }, 'en', false).join('');
    expect(JSON.parse(text)).toEqual(detect.data);
  });
  it('writes a ```json fence in text mode, as the guide parses', () => {
    const text = renderAnswer(detect, facts(img()), { mimeType: 'text/plain' }, 'en', false).join('');
    const lines = text.split('\n');
    const start = lines.indexOf('```json');
    expect(start).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(lines.slice(start + 1).join('\n').split('```')[0]!)).toEqual(detect.data);
  });
  it('shapes to a schema from facts, and leaves out what no fact fills', () => {
    const schema = {
      type: 'object',
      properties: { count: { type: 'integer' }, animals: { type: 'array', items: { type: 'string' } }, mood: { type: 'string', enum: ['happy', 'sad'] } },
    };
    const out = JSON.parse(renderAnswer(detect, facts(img()), { mimeType: 'application/json', jsonSchema: schema }, 'en', false).join(''));
    expect(out).toEqual({ count: 3, animals: ['dog', 'bicycle', 'truck'] });
  });
  it('picks the supported enum value', () => {
    const a = composeAnswer(en({ kind: 'classify', options: [{ phrase: 'cat', classes: ['cat'] }, { phrase: 'dog', classes: ['dog'] }] }), facts(img()));
    expect(renderAnswer(a, facts(img()), { mimeType: 'text/x.enum', jsonSchema: { type: 'string', enum: ['cat', 'dog'] } }, 'en', false)).toEqual(['dog']);
  });
});

describe('people', () => {
  it('counts people, says their posture, and admits when no face is visible', () => {
    const f = facts(
      img({
        objects: [{ label: 'person', score: 0.7, box: [0.3, 0.23, 0.43, 0.88] }],
        people: { faces: [], poses: [{ box: [0.29, 0.23, 0.44, 0.9], score: 0.6, posture: 'standing' }] },
      }),
    );
    const a = composeAnswer(en({ kind: 'people' }), f);
    expect(a.sentences).toEqual(['I see a person.', 'One is standing at the centre.', expect.stringMatching(/^No face is visible/)]);
  });
  it('reads expressions of visible faces', () => {
    const f = facts(img({ objects: [], people: { faces: [{ box: [0.4, 0.1, 0.6, 0.4], score: 0.99, expression: { label: 'happy', score: 0.9 } }], poses: [] } }));
    expect(composeAnswer(en({ kind: 'people' }), f).sentences).toEqual(['I see a person.', 'Face 1 looks happy.']);
  });
});
