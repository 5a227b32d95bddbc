import { describe, expect, it } from 'vitest';
import { dominantColours, meanBrightness, nameColour } from '../../src/vision/colors.js';
import { compareImages } from '../../src/vision/diff.js';

function solid(width: number, height: number, rgb: [number, number, number]) {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { width, height, rgb: data };
}

describe('colours', () => {
  it('names everyday colours', () => {
    expect(nameColour(250, 10, 10)).toBe('red');
    expect(nameColour(255, 255, 255)).toBe('white');
    expect(nameColour(20, 40, 210)).toBe('blue');
  });
  it('finds the two colours of a half-red, half-white image with their shares', () => {
    const img = solid(10, 10, [255, 255, 255]);
    for (let i = 0; i < 50; i++) img.rgb.set([220, 20, 20], i * 3);
    const colours = dominantColours(img);
    expect(colours.map((c) => c.name).sort()).toEqual(['red', 'white']);
    expect(colours[0]!.fraction).toBeCloseTo(0.5, 5);
  });
  it('measures brightness', () => {
    expect(meanBrightness(solid(4, 4, [0, 0, 0]))).toBe(0);
    expect(meanBrightness(solid(4, 4, [255, 255, 255]))).toBeCloseTo(1, 5);
  });
});

describe('compareImages', () => {
  it('reports no change for equal images and a box around a changed block', () => {
    const a = solid(20, 10, [100, 100, 100]);
    expect(compareImages(a, solid(20, 10, [100, 100, 100])).changedFraction).toBe(0);
    const b = solid(20, 10, [100, 100, 100]);
    for (let y = 2; y < 6; y++) for (let x = 10; x < 15; x++) b.rgb.set([250, 0, 0], (y * 20 + x) * 3);
    const d = compareImages(a, b);
    expect(d.changedFraction).toBeCloseTo(20 / 200, 5);
    expect(d.regions).toHaveLength(1);
    expect(d.regions[0]!.box_2d).toEqual([200, 500, 600, 750]);
  });
});
