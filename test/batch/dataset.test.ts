/** COCO RLE, COCO boxes and YOLO lines from answers: the arithmetic, on hand-checked cases. */
import { describe, expect, it } from 'vitest';
import { categoriesOf, encodeRle, toCoco, toYoloLines, type LabelledImage } from '../../src/batch/export/dataset.js';

describe('encodeRle', () => {
  it('runs over the column-major order, starting with zeros', () => {
    // 3 wide, 2 high; row-major:  0 1 1 / 0 0 1  → column-major: 0 0 | 1 0 | 1 1
    const mask = Uint8Array.from([0, 1, 1, 0, 0, 1]);
    expect(encodeRle(mask, 3, 2)).toEqual({ size: [2, 3], counts: [2, 1, 1, 2] });
  });
  it('a mask that starts inside begins with an empty zero run; counts sum to h·w', () => {
    const rle = encodeRle(Uint8Array.from([1, 1, 1, 1]), 2, 2);
    expect(rle.counts).toEqual([0, 4]);
    expect(encodeRle(new Uint8Array(12), 4, 3).counts).toEqual([12]);
  });
});

const image = (items: LabelledImage['items'], masks?: LabelledImage['masks']): LabelledImage => ({ fileName: 'a.jpg', width: 200, height: 100, items, ...(masks ? { masks } : {}) });

describe('toCoco', () => {
  it('boxes in pixels [x, y, w, h], sorted categories, degenerate boxes dropped, mask area and RLE', () => {
    const mask = new Uint8Array(200 * 100);
    mask[0] = 1;
    mask[201] = 1;
    const coco = toCoco(
      [
        image([
          { box_2d: [100, 50, 500, 250], label: 'dog' },
          { box_2d: [0, 0, 0, 100], label: 'cat' },
          { box_2d: [0, 0, 1000, 1000], label: 'cat' },
        ], new Map([[2, mask]])),
        { ...image([{ box_2d: [0, 0, 500, 500], label: 'dog' }]), fileName: 'b.jpg' },
      ],
      'test',
    );
    expect(coco.categories).toEqual([
      { id: 1, name: 'cat', supercategory: 'object' },
      { id: 2, name: 'dog', supercategory: 'object' },
    ]);
    expect(coco.images.map((i) => i.id)).toEqual([1, 2]);
    expect(coco.annotations.map((a) => [a.id, a.image_id, a.category_id, a.bbox, a.area])).toEqual([
      [1, 1, 2, [10, 10, 40, 40], 1600],
      [2, 1, 1, [0, 0, 200, 100], 2],
      [3, 2, 2, [0, 0, 100, 50], 5000],
    ]);
    expect(coco.annotations[1]!.segmentation!.counts.reduce((s, n) => s + n, 0)).toBe(200 * 100);
    expect(coco.annotations[0]!.segmentation).toBeUndefined();
  });
});

describe('toYoloLines', () => {
  it('class cx cy w h normalised to the image', () => {
    const img = image([{ box_2d: [100, 50, 500, 250], label: 'dog' }, { box_2d: [0, 0, 0, 0], label: 'cat' }]);
    const classes = categoriesOf([img]);
    expect(classes).toEqual(['cat', 'dog']);
    expect(toYoloLines(img, classes)).toBe('1 0.150000 0.300000 0.200000 0.400000\n');
    expect(toYoloLines(image([]), classes)).toBe('');
  });
});
