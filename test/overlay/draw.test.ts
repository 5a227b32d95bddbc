import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { OVERLAY_COLOURS } from '../../src/overlay/answer-items.js';
import { BOX_STROKE, MASK_ALPHA, boxesSvg, hexToRgb, itemsForImage, labelRect, layoutShapes, maskLayer } from '../../src/overlay/draw.js';

describe('layout', () => {
  it('maps box_2d to pixels and gives each item its palette colour in order', () => {
    const shapes = layoutShapes(
      [
        { box_2d: [100, 200, 500, 600], label: 'dog' },
        { box_2d: [0, 0, 1000, 1000], label: 'bike', mask: 'data:image/png;base64,AA' },
      ],
      1000,
      500,
    );
    expect(shapes[0]).toEqual({ box: { x0: 200, y0: 50, x1: 600, y1: 250 }, label: 'dog', colour: OVERLAY_COLOURS[0] });
    expect(shapes[1]?.colour).toBe(OVERLAY_COLOURS[1]);
    expect(shapes[1]?.mask).toBe('data:image/png;base64,AA');
  });

  it('keeps the items of the first image: indexed 1 or not indexed', () => {
    const items = [
      { box_2d: [1, 2, 3, 4] as [number, number, number, number], label: 'a', image: 1 },
      { box_2d: [1, 2, 3, 4] as [number, number, number, number], label: 'b', image: 2 },
      { box_2d: [1, 2, 3, 4] as [number, number, number, number], label: 'c' },
    ];
    expect(itemsForImage(items).map((i) => i.label)).toEqual(['a', 'c']);
    expect(itemsForImage(items, 2).map((i) => i.label)).toEqual(['b']);
  });

  it('puts the label above the box when there is room, else inside it', () => {
    expect(labelRect({ x0: 10, y0: 40, x1: 100, y1: 90 }, 'dog', 500).y).toBe(22);
    expect(labelRect({ x0: 10, y0: 5, x1: 100, y1: 90 }, 'dog', 500).y).toBe(5);
  });

  it('parses #rrggbb and refuses anything else', () => {
    expect(hexToRgb('#ff3b30')).toEqual([255, 59, 48]);
    expect(() => hexToRgb('red')).toThrow(/colour/);
  });
});

describe('boxesSvg, rendered', () => {
  it('draws a 3-px outline inside the box in its exact colour and leaves the rest transparent', async () => {
    const box = { x0: 20, y0: 30, x1: 80, y1: 70 };
    const svg = boxesSvg([{ box, label: '', colour: '#007aff' }], 100, 100);
    const { data } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number) => Array.from(data.subarray((y * 100 + x) * 4, (y * 100 + x) * 4 + 4));
    for (let d = 0; d < BOX_STROKE; d++) {
      expect(px(box.x0 + d, 50)).toEqual([0, 122, 255, 255]);
      expect(px(box.x1 - 1 - d, 50)).toEqual([0, 122, 255, 255]);
      expect(px(50, box.y0 + d)).toEqual([0, 122, 255, 255]);
      expect(px(50, box.y1 - 1 - d)).toEqual([0, 122, 255, 255]);
    }
    expect(px(box.x0 + BOX_STROKE, 50)[3]).toBe(0); // just inside the stroke
    expect(px(box.x0 - 1, 50)[3]).toBe(0); // just outside the box
    expect(px(50, 50)[3]).toBe(0);
  });

  it('escapes labels so a label cannot break the SVG', async () => {
    const svg = boxesSvg([{ box: { x0: 0, y0: 20, x1: 50, y1: 50 }, label: '<cat & "dog">', colour: '#ff3b30' }], 60, 60);
    expect(svg).toContain('&lt;cat &amp; &quot;dog&quot;&gt;');
    await expect(sharp(Buffer.from(svg)).png().toBuffer()).resolves.toBeInstanceOf(Buffer);
  });
});

describe('maskLayer', () => {
  it('resizes the mask into the box, tints where it is over 127 and outlines its border', () => {
    // A 2x2 mask whose left column is on: in a 10x4 box the left half is inside.
    const mask = { data: Uint8Array.from([255, 0, 255, 0]), width: 2, height: 2 };
    const layer = maskLayer(mask, { x0: 5, y0: 5, x1: 15, y1: 9 }, '#34c759');
    expect([layer.width, layer.height]).toEqual([10, 4]);
    const alpha = (x: number, y: number) => layer.data[(y * 10 + x) * 4 + 3];
    const rgb = (x: number, y: number) => Array.from(layer.data.subarray((y * 10 + x) * 4, (y * 10 + x) * 4 + 3));
    expect(rgb(2, 1)).toEqual([52, 199, 89]);
    expect(alpha(2, 1)).toBe(Math.round(MASK_ALPHA * 255)); // interior: translucent
    expect(alpha(0, 1)).toBe(255); // at the box edge: outline
    expect(alpha(4, 1)).toBe(255); // last inside pixel before the off half: outline
    expect(alpha(5, 1)).toBe(0); // sampled 60% of the way to the off column: 102, outside
    expect(alpha(8, 2)).toBe(0);
  });

  it('reads the first channel of a multi-channel mask and handles an empty box', () => {
    const rgba = { data: Uint8Array.from([200, 0, 0, 255]), width: 1, height: 1, channels: 4 };
    const layer = maskLayer(rgba, { x0: 0, y0: 0, x1: 3, y1: 3 }, '#ff3b30');
    expect(layer.data[(1 * 3 + 1) * 4 + 3]).toBe(Math.round(MASK_ALPHA * 255));
    expect(maskLayer(rgba, { x0: 4, y0: 4, x1: 4, y1: 9 }, '#ff3b30').data.length).toBe(0);
  });
});
