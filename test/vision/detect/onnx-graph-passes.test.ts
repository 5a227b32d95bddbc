/**
 * The converter's two speed changes, each run on onnxruntime against the unchanged arithmetic:
 * hard-swish / hard-sigmoid rewritten as one op each (exact, the float16 "1/6" restored), and
 * the image resized inside the graph (TF's half-pixel bilinear; a same-size input unchanged).
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { convertTfGraph } from '../../../src/vision/detect/onnx/convert.js';
import { fuseHardActivations } from '../../../src/vision/detect/onnx/hard-activations.js';
import { encodeModel, OnnxType, type OnnxGraph, type OnnxNode, type OnnxTensor } from '../../../src/vision/detect/onnx/proto.js';
import { parseTfGraph } from '../../../src/vision/detect/onnx/tf-graph.js';

/** float16's 1/6, as the MobileNetV3 graphs store it. */
const SIXTH_F16 = 0.1666259765625;
const floats = (name: string, dims: number[], values: ArrayLike<number>): OnnxTensor => ({
  name,
  dataType: OnnxType.FLOAT,
  dims,
  data: new Uint8Array(Float32Array.from(values).buffer),
});
const node = (opType: string, inputs: string[], output: string): OnnxNode => ({ opType, inputs, outputs: [output], name: output });

/**
 * x [1,2,3,3] → conv a (1×1) → hard-swish → conv b (1×1) → out, and a squeeze-and-excite gate
 * on b: hard-sigmoid(mean(b)) · b → gated. `readers` adds a second, non-conv reader of the
 * hard-swish (so its factor cannot be folded into conv b).
 */
function mobileNetV3Like(c = SIXTH_F16, extraReader = false): OnnxGraph {
  const w = (seed: number) => Array.from({ length: 4 }, (_, k) => Math.sin(seed + k) * 2);
  const nodes: OnnxNode[] = [
    node('Conv', ['x', 'wa'], 'a'),
    node('Mul', ['sixth', 'a'], 'a6'),
    node('Add', ['a', 'three'], 'a3'),
    node('Clip', ['a3', 'zero', 'six'], 'relu6'),
    node('Mul', ['a6', 'relu6'], 'hswish'),
    node('Conv', ['hswish', 'wb'], 'b'),
    { opType: 'ReduceMean', inputs: ['b'], outputs: ['pooled'], name: 'pooled', attrs: { axes: [2, 3], keepdims: 1 } },
    node('Add', ['pooled', 'three'], 'p3'),
    node('Clip', ['p3', 'zero', 'six'], 'prelu6'),
    node('Mul', ['sixth', 'prelu6'], 'gate'),
    node('Mul', ['b', 'gate'], 'gated'),
    ...(extraReader ? [node('Add', ['hswish', 'gated'], 'mixed')] : []),
  ];
  return {
    name: 't',
    nodes,
    initializers: [
      floats('wa', [2, 2, 1, 1], w(1)),
      floats('wb', [2, 2, 1, 1], w(2)),
      floats('sixth', [], [c]),
      floats('three', [], [3]),
      floats('zero', [], [0]),
      floats('six', [], [6]),
    ],
    inputs: [{ name: 'x', elemType: OnnxType.FLOAT, shape: [1, 2, 3, 3] }],
    outputs: [{ name: extraReader ? 'mixed' : 'gated', elemType: OnnxType.FLOAT }],
    opset: 13,
  };
}

async function run(g: OnnxGraph, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(encodeModel(g));
  try {
    const out = await s.run(feeds);
    return out[g.outputs[0]!.name]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

// Values on both sides of relu6's corners (x + 3 < 0, 0..6, > 6), so every branch is exercised.
const x = new ort.Tensor('float32', Float32Array.from({ length: 18 }, (_, k) => (k - 9) * 1.3), [1, 2, 3, 3]);
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('hard-swish and hard-sigmoid as one op each', () => {
  it('rewrites both patterns, folds the float16 factor into the reading conv, and computes the same', async () => {
    const g = mobileNetV3Like();
    const { graph, counts } = fuseHardActivations(g);
    expect(counts).toEqual({ hardSwish: 1, hardSigmoid: 1, folded: 1 });
    const ops = graph.nodes.map((n) => n.opType);
    expect(ops).toContain('HardSwish');
    expect(ops).toContain('HardSigmoid');
    expect(ops).not.toContain('Clip');
    expect(graph.opset).toBeGreaterThanOrEqual(14);
    // The input graph is left as it was (conv b's weights are copied, not scaled in place).
    expect(g.nodes).toHaveLength(11);
    expect(maxDiff(await run(graph, { x }), await run(g, { x }))).toBeLessThan(1e-5);
  });

  it('keeps an explicit factor when the hard-swish has a reader that is not a convolution', async () => {
    const g = mobileNetV3Like(SIXTH_F16, true);
    const { graph, counts } = fuseHardActivations(g);
    expect(counts).toEqual({ hardSwish: 1, hardSigmoid: 1, folded: 0 });
    expect(maxDiff(await run(graph, { x }), await run(g, { x }))).toBeLessThan(1e-5);
  });

  it('leaves a graph alone whose constant is not 1/6', () => {
    const g = mobileNetV3Like(0.2);
    const { graph, counts } = fuseHardActivations(g);
    expect(counts).toEqual({ hardSwish: 0, hardSigmoid: 0, folded: 0 });
    expect(graph).toBe(g);
  });
});

describe('the image resized inside the graph', () => {
  // The smallest convertible graph: the input node itself is the output (x · 1 + 0 as floats).
  const identity = parseTfGraph({ modelTopology: { node: [{ name: 'img', op: 'Placeholder' }] }, weightsManifest: [{ paths: [], weights: [] }] }, new Uint8Array());
  const resizing = (side: number) =>
    convertTfGraph(identity, { inputNode: 'img', inputShape: [1, side, side, 1], uint8Input: { scale: 1, offset: 0 }, resizeInput: true, outputs: ['img'] });

  it('takes any size and gives TF’s half-pixel bilinear resize', async () => {
    // 4 wide, 1 high → 2×2: output x samples source (x + 0.5) · 2 − 0.5 = 0.5 and 2.5.
    const g = resizing(2);
    expect(g.inputs[0]!.shape).toEqual([1, 'height', 'width', 1]);
    const out = await run(g, { input: new ort.Tensor('uint8', Uint8Array.of(0, 100, 200, 250), [1, 1, 4, 1]) });
    expect(Array.from(out)).toEqual([50, 225, 50, 225]);
  });

  it('passes an input already of the model’s size through unchanged', async () => {
    const pixels = Uint8Array.from({ length: 9 }, (_, k) => (k * 37) % 256);
    const out = await run(resizing(3), { input: new ort.Tensor('uint8', pixels, [1, 3, 3, 1]) });
    expect(Array.from(out)).toEqual(Array.from(pixels));
  });

  it('needs the 8-bit input', () => {
    expect(() => convertTfGraph(identity, { inputNode: 'img', inputShape: [1, 2, 2, 1], resizeInput: true, outputs: ['img'] })).toThrow(/uint8Input/);
  });
});
