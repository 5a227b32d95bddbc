import { describe, expect, it } from 'vitest';
import { box2dToPixels, itemsOfAnswer, jsonOfAnswer } from '../../src/overlay/answer-items.js';

describe('itemsOfAnswer', () => {
  it('reads a raw JSON list', () => {
    expect(itemsOfAnswer('[{"box_2d":[10,20,500,600],"label":"dog"}]')).toEqual([{ box_2d: [10, 20, 500, 600], label: 'dog' }]);
  });
  it('reads the first ```json fence after prose, with masks and image indexes', () => {
    const text = 'Here they are.\n\n```json\n[\n  {"box_2d":[0,0,1000,1000],"mask":"data:image/png;base64,AAAA","label":"cat","image":2}\n]\n```';
    expect(itemsOfAnswer(text)).toEqual([{ box_2d: [0, 0, 1000, 1000], mask: 'data:image/png;base64,AAAA', label: 'cat', image: 2 }]);
  });
  it('finds the list inside an object (a responseSchema answer)', () => {
    expect(itemsOfAnswer('{"objects":[{"box_2d":[1,2,3,4],"label":"x"}]}')).toHaveLength(1);
  });
  it('drops malformed entries and answers [] for prose', () => {
    expect(itemsOfAnswer('[{"box_2d":[1,2,3]},{"label":"no box"},{"box_2d":[1,2,3,4]}]')).toEqual([{ box_2d: [1, 2, 3, 4], label: '' }]);
    expect(itemsOfAnswer('A dog on a sofa.')).toEqual([]);
    expect(jsonOfAnswer('not json')).toBeUndefined();
  });
});

describe('box2dToPixels', () => {
  it('maps y-first 0..1000 to pixel corners', () => {
    expect(box2dToPixels([100, 200, 500, 1000], 640, 480)).toEqual({ x0: 128, y0: 48, x1: 640, y1: 240 });
  });
  it('orders swapped corners and clamps out-of-range values', () => {
    expect(box2dToPixels([600, 900, -10, 1200], 100, 100)).toEqual({ x0: 90, y0: 0, x1: 100, y1: 60 });
  });
});
