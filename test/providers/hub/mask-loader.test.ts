import { describe, expect, it } from 'vitest';
import { HubModelLoader } from '../../../src/providers/hub/loader.js';
import { maskSize, polygonsBounds, polygonsToMask, rasterisePolygons } from '../../../src/providers/hub/polygon-mask.js';
import { decodeMaskPng } from '../../../src/vision/segment/mask-png.js';

describe('polygons → mask PNG', () => {
  it('fills a square exactly and a triangle by half', () => {
    const square = rasterisePolygons([[[0, 0], [1, 0], [1, 1], [0, 1]]], [0, 0, 1, 1], 10, 10);
    expect(square.every((v) => v === 255)).toBe(true);
    const tri = rasterisePolygons([[[0, 0], [1, 0], [0, 1]]], [0, 0, 1, 1], 100, 100);
    const filled = tri.filter((v) => v === 255).length;
    expect(filled).toBeGreaterThan(4800);
    expect(filled).toBeLessThan(5200);
    expect(tri[0]).toBe(255); // top-left corner inside
    expect(tri[99 * 100 + 99]).toBe(0); // bottom-right outside
  });

  it('ORs overlapping polygons instead of cancelling them', () => {
    const a: [number, number][] = [[0, 0], [0.6, 0], [0.6, 1], [0, 1]];
    const b: [number, number][] = [[0.4, 0], [1, 0], [1, 1], [0.4, 1]];
    expect(rasterisePolygons([a, b], [0, 0, 1, 1], 10, 10).every((v) => v === 255)).toBe(true);
  });

  it('sizes the mask to the box in image pixels, capped', () => {
    expect(maskSize([0, 0, 0.5, 0.25], 400, 400)).toEqual({ width: 200, height: 100 });
    expect(maskSize([0, 0, 1, 0.5], 2000, 1000, 256)).toEqual({ width: 256, height: 64 });
  });

  it('encodes an 8-bit grey PNG of the box region', async () => {
    const polys: [number, number][][] = [[[0.2, 0.2], [0.6, 0.2], [0.6, 0.4], [0.2, 0.4]]];
    expect(polygonsBounds(polys)).toEqual([0.2, 0.2, 0.6, 0.4]);
    const m = (await polygonsToMask(polys, 500, 500))!;
    expect(m.box).toEqual([0.2, 0.2, 0.6, 0.4]);
    const d = await decodeMaskPng(m.png);
    expect(d.header).toMatchObject({ colourType: 0, bitDepth: 8 });
    expect([d.width, d.height]).toEqual([200, 100]);
    expect(d.data.every((v) => v === 255)).toBe(true);
    expect(await polygonsToMask([], 10, 10)).toBeUndefined();
  });
});

class Fake {
  disposed = false;
  constructor(readonly name: string) {}
  dispose() {
    this.disposed = true;
  }
}

describe('HubModelLoader', () => {
  const setup = (maxBytes: number) => {
    let t = 0;
    const loads: string[] = [];
    const loader = new HubModelLoader({ maxBytes, now: () => ++t });
    const req = (key: string, bytes: number, delay = 0) => ({
      key,
      bytes,
      load: async () => {
        loads.push(key);
        if (delay) await new Promise((r) => setTimeout(r, delay));
        return new Fake(key);
      },
    });
    return { loader, loads, req };
  };

  it('loads lazily once and keeps the model warm', async () => {
    const { loader, loads, req } = setup(100);
    const a1 = await loader.use(req('a', 10), async (m) => m);
    const a2 = await loader.use(req('a', 10), async (m) => m);
    expect(a1).toBe(a2);
    expect(loads).toEqual(['a']);
  });

  it('concurrent first uses share one load', async () => {
    const { loader, loads, req } = setup(100);
    const [x, y, z] = await Promise.all([1, 2, 3].map(() => loader.use(req('a', 10, 30), async (m) => m)));
    expect(loads).toEqual(['a']);
    expect(x).toBe(y);
    expect(y).toBe(z);
  });

  it('unloads the least recently used past the budget', async () => {
    const { loader, loads, req } = setup(100);
    const a = await loader.use(req('a', 40), async (m) => m);
    const b = await loader.use(req('b', 40), async (m) => m);
    await loader.use(req('a', 40), async (m) => m); // a is now more recent than b
    const c = await loader.use(req('c', 40), async (m) => m);
    expect(b.disposed).toBe(true);
    expect(a.disposed).toBe(false);
    expect(c.disposed).toBe(false);
    expect(loader.loadedKeys()).toEqual(['a', 'c']);
    expect(loader.usedBytes).toBe(80);
    await loader.use(req('b', 40), async (m) => m);
    expect(loads).toEqual(['a', 'b', 'c', 'b']);
    expect(a.disposed).toBe(true); // a was the least recent by then
  });

  it('never unloads a model in use; reclaims when it is released', async () => {
    const { loader, req } = setup(50);
    const lease = await loader.acquire(req('a', 40));
    const leaseB = await loader.acquire(req('b', 40)); // over budget: a is busy, so both load
    expect(loader.usedBytes).toBe(80);
    lease.release();
    await new Promise((r) => setTimeout(r, 0));
    // Releasing a brings the total back under the budget by dropping the least recent idle model: a.
    expect(loader.usedBytes).toBe(40);
    expect([(lease.model as Fake).disposed, (leaseB.model as Fake).disposed]).toEqual([true, false]);
    leaseB.release();
    expect(loader.loadedKeys()).toEqual(['b']); // within budget now: stays warm
  });

  it('a failed load is not cached; invalidate drops a dead model; close disposes all', async () => {
    const { loader, req } = setup(100);
    let fail = true;
    const flaky = { key: 'f', bytes: 1, load: async () => (fail ? Promise.reject(new Error('boom')) : new Fake('f')) };
    await expect(loader.use(flaky, async (m) => m)).rejects.toThrow('boom');
    fail = false;
    const f = await loader.use(flaky, async (m) => m);
    await loader.invalidate('f');
    expect(f.disposed).toBe(true);
    expect(loader.loadedKeys()).toEqual([]);
    const a = await loader.use(req('a', 1), async (m) => m);
    await loader.close();
    expect(a.disposed).toBe(true);
    await expect(loader.use(req('a', 1), async (m) => m)).rejects.toThrow(/closed/);
  });
});
