import { describe, expect, it } from 'vitest';
import { COCO91_LABELS, COCO_CLASSES, cocoClassesInPrompt, isCocoClass, vocabulary } from '../../../src/vision/detect/coco.js';
import { readFixture } from '../../support/fixtures.js';

const classes = (t: string) => cocoClassesInPrompt(t).classes;
const unknown = (t: string) => cocoClassesInPrompt(t).unknown;

describe('COCO classes', () => {
  it('has the 80 classes in detector order, matching darknet coco.names up to spelling', () => {
    expect(COCO_CLASSES).toHaveLength(80);
    expect(new Set(COCO_CLASSES).size).toBe(80);
    const darknet = readFixture('coco.names').toString('utf8').trim().split('\n');
    const spelling: Record<string, string> = {
      motorbike: 'motorcycle', aeroplane: 'airplane', sofa: 'couch', pottedplant: 'potted plant',
      diningtable: 'dining table', tvmonitor: 'tv',
    };
    expect(darknet.map((n) => spelling[n] ?? n)).toEqual([...COCO_CLASSES]);
  });
  it('maps the 90 original COCO ids, skipping the unused ones', () => {
    expect(COCO91_LABELS).toHaveLength(90);
    expect(COCO91_LABELS.filter((x) => x === null)).toHaveLength(10);
    expect(COCO91_LABELS[0]).toBe('person');
    expect(COCO91_LABELS[11]).toBeNull(); // id 12
    expect(COCO91_LABELS[12]).toBe('stop sign'); // id 13
    expect(COCO91_LABELS[17]).toBe('dog'); // id 18
    expect(COCO91_LABELS[89]).toBe('toothbrush'); // id 90
  });
  it('isCocoClass', () => {
    expect(isCocoClass('hot dog')).toBe(true);
    expect(isCocoClass('hotdog')).toBe(false);
  });
});

describe('prompt words → COCO classes (English)', () => {
  it('maps every class name to itself, singular and plural', () => {
    for (const name of COCO_CLASSES) expect(classes(name), name).toEqual([name]);
    expect(classes('traffic lights')).toEqual(['traffic light']);
    expect(classes('wine glasses')).toEqual(['wine glass']);
    expect(classes('teddy bears')).toEqual(['teddy bear']);
    expect(classes('hot dogs')).toEqual(['hot dog']);
  });
  it('handles plurals, irregular plurals and synonyms', () => {
    expect(classes('puppies')).toEqual(['dog']);
    expect(classes('people')).toEqual(['person']);
    expect(classes('men, women and children')).toEqual(['person']);
    expect(classes('knives')).toEqual(['knife']);
    expect(classes('mice')).toEqual(['mouse']);
    expect(classes('sheep')).toEqual(['sheep']);
    expect(classes('buses')).toEqual(['bus']);
    expect(classes('ponies')).toEqual(['horse']);
    expect(classes('kittens')).toEqual(['cat']);
    expect(classes('motorbikes and aeroplanes')).toEqual(['motorcycle', 'airplane']);
    expect(classes('sofa')).toEqual(['couch']);
    expect(classes('fridge')).toEqual(['refrigerator']);
    expect(classes('smartphones')).toEqual(['cell phone']);
    expect(classes('television')).toEqual(['tv']);
    expect(classes('an eagle')).toEqual(['bird']);
    expect(classes('pickup trucks')).toEqual(['truck']);
    expect(classes('doughnuts')).toEqual(['donut']);
    expect(classes('hair dryer')).toEqual(['hair drier']);
  });
  it('expands category words', () => {
    expect(classes('animals')).toEqual(['bird', 'cat', 'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe']);
    expect(classes('vehicles')).toContain('truck');
    expect(classes('fruit')).toEqual(['banana', 'apple', 'orange']);
    expect(classes('pets')).toEqual(['cat', 'dog']);
  });
  it('prefers the longest phrase: a hot dog is not a dog, a teddy bear not a bear', () => {
    expect(classes('a hot dog')).toEqual(['hot dog']);
    expect(classes('the teddy bear and a polar bear')).toEqual(['teddy bear', 'bear']);
    expect(classes('baseball bat and a baseball')).toEqual(['baseball bat', 'sports ball']);
  });
  it('reads whole prompts, keeping order and dropping repeats and instruction words', () => {
    expect(cocoClassesInPrompt('Detect all the dogs and cats in this image, and the dog bowl')).toEqual({
      classes: ['dog', 'cat', 'bowl'],
      unknown: [],
    });
    expect(cocoClassesInPrompt('Is there a man riding a horse next to two parked cars?')).toEqual({
      classes: ['person', 'horse', 'car'],
      unknown: [],
    });
    expect(classes("What colour is the dog's collar?")).toEqual(['dog']);
  });
  it("treats 'orange' before a noun as a colour", () => {
    expect(classes('the orange car')).toEqual(['car']);
    expect(classes('an orange')).toEqual(['orange']);
    expect(classes('oranges and apples')).toEqual(['orange', 'apple']);
  });
  it('reports unknown nouns instead of mapping them wrongly', () => {
    expect(cocoClassesInPrompt('where is the unicorn')).toEqual({ classes: [], unknown: ['unicorn'] });
    expect(cocoClassesInPrompt('a purple unicorn or a solar panel')).toEqual({ classes: [], unknown: ['unicorn', 'solar panel'] });
    expect(cocoClassesInPrompt('the goat and the dog')).toEqual({ classes: ['dog'], unknown: ['goat'] });
    expect(unknown('a seahorse')).toEqual(['seahorse']);
    expect(unknown('sunglasses')).toEqual(['sunglasses']);
    expect(classes('a sea lion')).toEqual([]);
  });
  it('gives nothing for empty or instruction-only text', () => {
    expect(cocoClassesInPrompt('')).toEqual({ classes: [], unknown: [] });
    expect(cocoClassesInPrompt('Detect all prominent items in the image.')).toEqual({ classes: [], unknown: [] });
  });
});

describe('prompt words → COCO classes (Chinese)', () => {
  it('maps Traditional and Simplified forms and colloquial words', () => {
    for (const w of ['狗', '狗狗', '小狗', '犬']) expect(classes(w), w).toEqual(['dog']);
    for (const w of ['人', '人們', '人们', '行人', '男人', '小孩']) expect(classes(w), w).toEqual(['person']);
    for (const w of ['車', '车', '汽車', '汽车', '轎車']) expect(classes(w), w).toEqual(['car']);
    for (const w of ['馬', '马', '小馬']) expect(classes(w), w).toEqual(['horse']);
    expect(classes('貓咪')).toEqual(['cat']);
    expect(classes('长颈鹿和斑马')).toEqual(['giraffe', 'zebra']);
    expect(classes('長頸鹿和斑馬')).toEqual(['giraffe', 'zebra']);
    expect(classes('自行車')).toEqual(['bicycle']);
    expect(classes('自行车')).toEqual(['bicycle']);
    expect(classes('卡車')).toEqual(['truck']);
    expect(classes('飛機')).toEqual(['airplane']);
    expect(classes('手機')).toEqual(['cell phone']);
    expect(classes('風箏')).toEqual(['kite']);
  });
  it('reads questions with measure words, colours and particles', () => {
    expect(cocoClassesInPrompt('圖中有幾隻狗狗和馬？')).toEqual({ classes: ['dog', 'horse'], unknown: [] });
    expect(cocoClassesInPrompt('请检测图中的猫和长颈鹿')).toEqual({ classes: ['cat', 'giraffe'], unknown: [] });
    expect(cocoClassesInPrompt('一輛紅色的車')).toEqual({ classes: ['car'], unknown: [] });
    expect(cocoClassesInPrompt('兩個人在騎自行車')).toEqual({ classes: ['person', 'bicycle'], unknown: [] });
  });
  it('prefers the longest word: 熱狗 is a hot dog, 馬桶 a toilet, 斑馬 a zebra', () => {
    expect(classes('熱狗')).toEqual(['hot dog']);
    expect(classes('马桶')).toEqual(['toilet']);
    expect(classes('斑馬')).toEqual(['zebra']);
    expect(classes('泰迪熊')).toEqual(['teddy bear']);
  });
  it('reports unknown words instead of the class hiding inside them', () => {
    expect(cocoClassesInPrompt('機器人')).toEqual({ classes: [], unknown: ['機器人'] });
    expect(cocoClassesInPrompt('马路上的车')).toEqual({ classes: ['car'], unknown: ['马路'] });
    expect(cocoClassesInPrompt('獨角獸')).toEqual({ classes: [], unknown: ['獨角獸'] });
    expect(cocoClassesInPrompt('蜗牛')).toEqual({ classes: [], unknown: ['蜗牛'] });
  });
  it('reads mixed English and Chinese', () => {
    expect(classes('dog 和 貓')).toEqual(['dog', 'cat']);
  });
});

describe('vocabulary (the planner’s Vocabulary type)', () => {
  it('returns the same as cocoClassesInPrompt, plus the words that named each class', () => {
    const v: (phrase: string) => { classes: string[]; unknown: string[] } = vocabulary;
    expect(v('puppies and a unicorn')).toEqual({ classes: ['dog'], unknown: ['unicorn'], terms: [{ text: 'puppies', classes: ['dog'] }] });
    expect(vocabulary('vehicles').terms).toEqual([{ text: 'vehicles', classes: ['bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat'] }]);
  });
});
