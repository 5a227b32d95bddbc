/**
 * The TF.js → ONNX converter's pieces (pure), and a small converted graph run on
 * onnxruntime against the same arithmetic done by hand.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { autoPad, convertTfGraph, hwcmToGrouped, hwioToOihw, parseRef, UnsupportedOpError } from '../../../src/vision/detect/onnx/convert.js';
import { encodeModel } from '../../../src/vision/detect/onnx/proto.js';
import { parseTfGraph, type TfNode } from '../../../src/vision/detect/onnx/tf-graph.js';
import { decodeSsdBoxes, SSD_BOX_SCALES } from '../../../src/vision/detect/ssd-onnx.js';

describe('filter layouts', () => {
  it('moves a Conv2D filter from HWIO to OIHW', () => {
    // h=1, w=2, i=2, o=3: value = 100h + 10w... encoded as w*100 + i*10 + o.
    const hwio = Float32Array.from({ length: 12 }, (_, k) => {
      const o = k % 3, i = Math.floor(k / 3) % 2, x = Math.floor(k / 6);
      return x * 100 + i * 10 + o;
    });
    const oihw = hwioToOihw(hwio, [1, 2, 2, 3]);
    // OIHW index ((o*I + i)*H + y)*W + x
    expect(oihw[((2 * 2 + 1) * 1 + 0) * 2 + 1]).toBe(100 + 10 + 2);
    expect(oihw[((0 * 2 + 1) * 1 + 0) * 2 + 0]).toBe(10);
  });

  it('orders depthwise output channels as TF does (channel, then multiplier)', () => {
    // h=w=1, c=2, m=2: value = 10c + m
    const hwcm = Float32Array.of(0, 1, 10, 11);
    expect(Array.from(hwcmToGrouped(hwcm, [1, 1, 2, 2]))).toEqual([0, 1, 10, 11]);
    // h=2, w=1, c=1, m=1: rows stay rows
    expect(Array.from(hwcmToGrouped(Float32Array.of(5, 6), [2, 1, 1, 1]))).toEqual([5, 6]);
  });

  it("maps TF's SAME padding to SAME_UPPER and refuses others", () => {
    expect(autoPad('SAME')).toBe('SAME_UPPER');
    expect(autoPad('VALID')).toBe('VALID');
    expect(() => autoPad('EXPLICIT')).toThrow(/padding/);
  });

  it('parses input references', () => {
    expect(parseRef('a/b')).toEqual({ node: 'a/b', index: 0, control: false });
    expect(parseRef('a/b:2')).toEqual({ node: 'a/b', index: 2, control: false });
    expect(parseRef('^a')).toEqual({ node: 'a', index: 0, control: true });
  });
});

describe('SSD box decoding', () => {
  it('is the identity for zero encodings and scales offsets by the coder factors', () => {
    const anchors = Float32Array.of(0.2, 0.1, 0.6, 0.5); // h 0.4, w 0.4, centre (0.4, 0.3)
    expect(Array.from(decodeSsdBoxes(new Float32Array(4), anchors)).map((v) => +v.toFixed(6))).toEqual([0.2, 0.1, 0.6, 0.5]);
    const [sy, , sh] = SSD_BOX_SCALES;
    // ty = sy·0.5 moves the centre down by half the anchor height; th = sh·ln 2 doubles it.
    const b = decodeSsdBoxes(Float32Array.of(sy * 0.5, 0, sh * Math.log(2), 0), anchors);
    expect(Array.from(b).map((v) => +v.toFixed(5))).toEqual([0.2, 0.1, 1, 0.5]);
  });
});

/** A tiny NHWC graph: 3×3 stride-2 SAME conv → BiasAdd → Relu6 → depthwise → Reshape. */
function tinyGraph() {
  const conv = Float32Array.from({ length: 3 * 3 * 2 * 3 }, (_, k) => Math.sin(k) * 0.5);
  const dw = Float32Array.from({ length: 3 * 3 * 3 * 1 }, (_, k) => Math.cos(k) * 0.3);
  const bias = Float32Array.of(0.1, -0.2, 3);
  const attrs = (stride: number) => ({ strides: { list: { i: ['1', String(stride), String(stride), '1'] } }, padding: { s: 'U0FNRQ==' } }); // "SAME"
  const nodes: TfNode[] = [
    { name: 'x', op: 'Placeholder' },
    { name: 'w', op: 'Const' },
    { name: 'b', op: 'Const' },
    { name: 'dw', op: 'Const' },
    { name: 'shape', op: 'Const', attr: { value: { tensor: { dtype: 3, tensorShape: { dim: [{ size: '3' }] }, intVal: [1, -1, 3] } } } },
    { name: 'conv', op: 'Conv2D', input: ['x', 'w'], attr: attrs(2) },
    { name: 'bias', op: 'BiasAdd', input: ['conv', 'b'] },
    { name: 'relu', op: 'Relu6', input: ['bias'] },
    { name: 'dwc', op: 'DepthwiseConv2dNative', input: ['relu', 'dw'], attr: attrs(1) },
    { name: 'out', op: 'Reshape', input: ['dwc', 'shape'] },
  ];
  const weights = new Uint8Array([...new Uint8Array(conv.buffer), ...new Uint8Array(bias.buffer), ...new Uint8Array(dw.buffer)]);
  const json = {
    modelTopology: { node: nodes },
    weightsManifest: [{ paths: [], weights: [
      { name: 'w', shape: [3, 3, 2, 3], dtype: 'float32' },
      { name: 'b', shape: [3], dtype: 'float32' },
      { name: 'dw', shape: [3, 3, 3, 1], dtype: 'float32' },
    ] }],
  };
  return { graph: parseTfGraph(json, weights), conv, dw, bias };
}

/** The same arithmetic in plain loops (NHWC, TF SAME padding). */
function reference(x: Float32Array, H: number, W: number, conv: Float32Array, bias: Float32Array, dw: Float32Array): number[] {
  const pad = (size: number, stride: number) => Math.floor(Math.max((Math.ceil(size / stride) - 1) * stride + 3 - size, 0) / 2);
  const H1 = Math.ceil(H / 2), W1 = Math.ceil(W / 2);
  const y1 = new Float32Array(H1 * W1 * 3);
  const ph = pad(H, 2), pw = pad(W, 2);
  for (let y = 0; y < H1; y++) for (let xx = 0; xx < W1; xx++) for (let o = 0; o < 3; o++) {
    let s = bias[o]!;
    for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) for (let i = 0; i < 2; i++) {
      const sy = y * 2 + ky - ph, sx = xx * 2 + kx - pw;
      if (sy < 0 || sx < 0 || sy >= H || sx >= W) continue;
      s += x[(sy * W + sx) * 2 + i]! * conv[((ky * 3 + kx) * 2 + i) * 3 + o]!;
    }
    y1[(y * W1 + xx) * 3 + o] = Math.min(6, Math.max(0, s));
  }
  const out: number[] = [];
  for (let y = 0; y < H1; y++) for (let xx = 0; xx < W1; xx++) for (let c = 0; c < 3; c++) {
    let s = 0;
    for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) {
      const sy = y + ky - 1, sx = xx + kx - 1;
      if (sy < 0 || sx < 0 || sy >= H1 || sx >= W1) continue;
      s += y1[(sy * W1 + sx) * 3 + c]! * dw[(ky * 3 + kx) * 3 + c]!;
    }
    out.push(s);
  }
  return out;
}

describe('converted graph on onnxruntime', () => {
  it('computes what the TF ops compute (odd sizes, SAME padding, NHWC reshape)', async () => {
    const { graph, conv, dw, bias } = tinyGraph();
    const H = 7, W = 5;
    const onnx = convertTfGraph(graph, { inputNode: 'x', inputShape: [1, H, W, 2], outputs: ['out'] });
    const session = await ort.InferenceSession.create(encodeModel(onnx));
    const x = Float32Array.from({ length: H * W * 2 }, (_, k) => ((k * 7) % 11) - 5);
    const out = await session.run({ input: new ort.Tensor('float32', x, [1, H, W, 2]) });
    const got = out.out!;
    expect(got.dims).toEqual([1, 4 * 3, 3]);
    const want = reference(x, H, W, conv, bias, dw);
    const data = Array.from(got.data as Float32Array);
    for (let k = 0; k < want.length; k++) expect(data[k]).toBeCloseTo(want[k]!, 4);
    await session.release();
  });

  it('refuses ops it cannot convert, naming them', () => {
    const { graph } = tinyGraph();
    graph.nodes.set('weird', { name: 'weird', op: 'NonMaxSuppressionV5', input: ['relu'] });
    expect(() => convertTfGraph(graph, { inputNode: 'x', inputShape: [1, 4, 4, 2], outputs: ['weird'] })).toThrow(UnsupportedOpError);
  });
});
