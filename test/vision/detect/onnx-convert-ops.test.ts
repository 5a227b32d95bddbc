/**
 * The converter's ops for CenterNet (MobileNetV3): float16-stored weights, squeeze-and-excite's
 * kept-dims Mean and the head's ResizeBilinear, each checked against the arithmetic done by
 * hand on onnxruntime.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { convertTfGraph } from '../../../src/vision/detect/onnx/convert.js';
import { encodeModel } from '../../../src/vision/detect/onnx/proto.js';
import { halfToFloat, parseTfGraph, type TfNode } from '../../../src/vision/detect/onnx/tf-graph.js';

const int32Const = (name: string, values: number[]): TfNode => ({
  name,
  op: 'Const',
  attr: { value: { tensor: { dtype: 3, tensorShape: { dim: [{ size: String(values.length) }] }, intVal: values } } },
});

async function run(nodes: TfNode[], H: number, W: number, C: number, x: Float32Array, output: string, resizeFactor?: number) {
  const graph = parseTfGraph({ modelTopology: { node: nodes }, weightsManifest: [{ paths: [], weights: [] }] }, new Uint8Array());
  const onnx = convertTfGraph(graph, { inputNode: 'x', inputShape: [1, H, W, C], outputs: [output], ...(resizeFactor ? { resizeFactor } : {}) });
  const session = await ort.InferenceSession.create(encodeModel(onnx));
  try {
    const out = await session.run({ input: new ort.Tensor('float32', x, [1, H, W, C]) });
    return { dims: out[output]!.dims, data: Array.from(out[output]!.data as Float32Array) };
  } finally {
    await session.release();
  }
}

describe('float16 weights', () => {
  it('widens IEEE halves exactly (normal, subnormal, signed, infinite)', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x3555)).toBeCloseTo(0.333251953125, 12);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(Number.isNaN(halfToFloat(0x7e00))).toBe(true);
  });

  it('reads a float16-quantised constant from the shards', () => {
    const bytes = new Uint8Array(new Uint16Array([0x3c00, 0xbc00, 0x4200]).buffer);
    const g = parseTfGraph(
      { modelTopology: { node: [{ name: 'w', op: 'Const' }] }, weightsManifest: [{ paths: [], weights: [{ name: 'w', shape: [3], dtype: 'float32', quantization: { dtype: 'float16' } }] }] },
      bytes,
    );
    expect(Array.from(g.consts.get('w')!.data)).toEqual([1, -1, 3]);
  });
});

describe('Mean and ResizeBilinear on onnxruntime', () => {
  it('Mean over height and width with kept dims, multiplied back (squeeze-and-excite)', async () => {
    const H = 3, W = 2, C = 2;
    const x = Float32Array.from({ length: H * W * C }, (_, k) => k);
    const nodes: TfNode[] = [
      { name: 'x', op: 'Placeholder' },
      int32Const('axes', [1, 2]),
      { name: 'mean', op: 'Mean', input: ['x', 'axes'], attr: { keep_dims: { b: true } } },
      { name: 'out', op: 'Mul', input: ['x', 'mean'] },
    ];
    const { dims, data } = await run(nodes, H, W, C, x, 'out');
    expect(dims).toEqual([1, H, W, C]);
    // Channel means of 0,2,4,6,8,10 and 1,3,5,7,9,11: 5 and 6.
    for (let k = 0; k < x.length; k++) expect(data[k]).toBeCloseTo(x[k]! * (k % 2 ? 6 : 5), 4);
  });

  it('ResizeBilinear 2× without half-pixel centres (TF\'s asymmetric mapping)', async () => {
    const H = 2, W = 2, C = 1;
    const x = Float32Array.of(0, 10, 20, 30);
    const nodes: TfNode[] = [{ name: 'x', op: 'Placeholder' }, int32Const('size', [4, 4]), { name: 'out', op: 'ResizeBilinear', input: ['x', 'size'], attr: { align_corners: { b: false }, half_pixel_centers: { b: false } } }];
    const { dims, data } = await run(nodes, H, W, C, x, 'out');
    expect(dims).toEqual([1, 4, 4, 1]);
    // Output (y, x) samples source (y/2, x/2), clamped at the last row/column.
    expect(data.map((v) => +v.toFixed(3))).toEqual([0, 5, 10, 10, 10, 15, 20, 20, 20, 25, 30, 30, 20, 25, 30, 30]);
  });

  it('ResizeBilinear by a factor of its own input when asked (a graph run at another input size)', async () => {
    const H = 3, W = 3, C = 1;
    const x = Float32Array.from({ length: 9 }, (_, k) => k * 10);
    const nodes: TfNode[] = [{ name: 'x', op: 'Placeholder' }, int32Const('size', [4, 4]), { name: 'out', op: 'ResizeBilinear', input: ['x', 'size'], attr: { align_corners: { b: false }, half_pixel_centers: { b: false } } }];
    // The graph's constant says 4×4; with resizeFactor 2 a 3×3 input becomes 6×6.
    const { dims, data } = await run(nodes, H, W, C, x, 'out', 2);
    expect(dims).toEqual([1, 6, 6, 1]);
    // Row 0: source columns 0, 0.5, 1, 1.5, 2, 2 (clamped) of 0, 10, 20.
    expect(data.slice(0, 6).map((v) => +v.toFixed(3))).toEqual([0, 5, 10, 15, 20, 20]);
  });
});
