/**
 * TF.js graph (frozen TensorFlow ops, NHWC) → ONNX graph (NCHW), for the part of a detector
 * that does the arithmetic: from a named input node to named outputs. onnxruntime then runs
 * it multi-threaded with its graph optimisations (Conv+BatchNorm+Clip fusion, etc.).
 *
 * Layout: TF's feature maps are NHWC, ONNX's Conv wants NCHW. The input is transposed once;
 * every 4-D feature map stays NCHW inside (per-channel constants are reshaped to [C,1,1]) and
 * is transposed back to NHWC only where TF semantics depend on the layout (Reshape, Concat on
 * a non-channel axis, graph outputs). Filters are re-laid out: Conv2D HWIO → OIHW, depthwise
 * HWCM → (C·M)1HW with group = C.
 *
 * Shape arithmetic in the graph (Shape → StridedSlice → Pack → Reshape) is folded to constants
 * with the batch fixed at 1, which is how the detectors run.
 *
 * Supported ops are the ones the shipped detectors use; any other op is an error naming it,
 * so a model that cannot be converted falls back to TF.js instead of running wrongly.
 */
import { fuseHardActivations } from './hard-activations.js';
import { OnnxType, type OnnxGraph, type OnnxNode, type OnnxTensor } from './proto.js';
import { attrInts, attrString, type TfConst, type TfGraph, type TfNode } from './tf-graph.js';

export interface ConvertSpec {
  /** The TF node whose value the ONNX input replaces (e.g. the normalised image). */
  inputNode: string;
  /** NHWC shape of that value; a string batch is a symbolic (any) batch size. */
  inputShape: [1 | string, number, number, number];
  /**
   * Feed the graph 8-bit RGB and compute `x * scale + offset` in float inside it (so the
   * caller hands over the resized image as it is, with no per-pixel loop in JS).
   */
  uint8Input?: { scale: number; offset: number };
  /**
   * With uint8Input: take the image at any size ([1, height, width, 3]) and resize it to
   * inputShape's height and width inside the graph (bilinear, half-pixel centres: TF's own
   * resize, on 8 bits; ~3 ms for 640×424 → 512² on one core, where sharp's affine took 5–10 ms).
   * An input already of that size passes through unchanged.
   */
  resizeInput?: boolean;
  /** TF node names to expose as outputs, in TF's layout. */
  outputs: string[];
  /**
   * Every ResizeBilinear scales its input by this factor instead of resizing to the size
   * the graph was exported with (CenterNet's upsampling is ×2 whatever the input): lets a
   * fully convolutional graph run at another input size. Default: the graph's own sizes.
   */
  resizeFactor?: number;
  /**
   * TF constants to expose as outputs too (e.g. SSD's anchors), so the one .onnx file holds
   * everything the JS post-processing needs.
   */
  constOutputs?: string[];
  name?: string;
}

type Layout = 'nchw' | 'plain';
interface Value {
  name: string;
  layout: Layout;
}

export class UnsupportedOpError extends Error {
  constructor(op: string, node: string) {
    super(`cannot convert TF op ${op} (node ${node}) to ONNX`);
    this.name = 'UnsupportedOpError';
  }
}

const ELEMENTWISE: Record<string, string> = { Add: 'Add', AddV2: 'Add', BiasAdd: 'Add', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div', Maximum: 'Max', Minimum: 'Min' };
const UNARY: Record<string, string> = { Relu: 'Relu', Sigmoid: 'Sigmoid', Exp: 'Exp', Tanh: 'Tanh' };
const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];

const bytesOf = (a: Float32Array | Int32Array | BigInt64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Conv2D filter HWIO → ONNX OIHW. */
export function hwioToOihw(w: Float32Array, [h, wd, i, o]: number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < h!; y++)
    for (let x = 0; x < wd!; x++)
      for (let c = 0; c < i!; c++)
        for (let k = 0; k < o!; k++) out[((k * i! + c) * h! + y) * wd! + x] = w[((y * wd! + x) * i! + c) * o! + k]!;
  return out;
}

/** Depthwise filter HWCM → ONNX (C·M)×1×H×W (output channel c·M + m, as TF orders them). */
export function hwcmToGrouped(w: Float32Array, [h, wd, c, m]: number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < h!; y++)
    for (let x = 0; x < wd!; x++)
      for (let ch = 0; ch < c!; ch++)
        for (let k = 0; k < m!; k++) out[((ch * m! + k) * h! + y) * wd! + x] = w[((y * wd! + x) * c! + ch) * m! + k]!;
  return out;
}

/** TF's padding attribute → ONNX auto_pad (TF's SAME puts the odd pixel at the end: SAME_UPPER). */
export function autoPad(padding: string | undefined): string {
  if (padding === 'SAME') return 'SAME_UPPER';
  if (padding === 'VALID') return 'VALID';
  throw new Error(`unsupported padding ${padding}`);
}

/** Splits a TF input reference ("name", "name:1", "^control") into node and output index. */
export function parseRef(ref: string): { node: string; index: number; control: boolean } {
  const control = ref.startsWith('^');
  const body = control ? ref.slice(1) : ref;
  const m = /^(.*):(\d+)$/.exec(body);
  return m ? { node: m[1]!, index: Number(m[2]), control } : { node: body, index: 0, control };
}

export function convertTfGraph(graph: TfGraph, spec: ConvertSpec): OnnxGraph {
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  const done = new Map<string, Value>();
  let counter = 0;
  const fresh = (base: string) => `${base}__${counter++}`;

  const addInit = (name: string, dataType: OnnxTensor['dataType'], dims: number[], data: Float32Array | Int32Array | BigInt64Array) => {
    initializers.push({ name, dataType, dims, data: bytesOf(data) });
    return name;
  };
  const floatInit = (base: string, dims: number[], data: Float32Array) => addInit(fresh(base), OnnxType.FLOAT, dims, data);
  const int64Init = (base: string, values: number[]) => addInit(fresh(base), OnnxType.INT64, [values.length], BigInt64Array.from(values.map(BigInt)));
  const emit = (opType: string, inputs: string[], base: string, attrs?: OnnxNode['attrs']) => {
    const out = fresh(base);
    nodes.push({ opType, inputs, outputs: [out], name: out, ...(attrs ? { attrs } : {}) });
    return out;
  };
  const toPlain = (v: Value, base: string): string => (v.layout === 'nchw' ? emit('Transpose', [v.name], `${base}/to_nhwc`, { perm: NCHW_TO_NHWC }) : v.name);

  const constOf = (ref: string): TfConst | undefined => {
    const { node } = parseRef(ref);
    const n = graph.nodes.get(node);
    if (n?.op === 'Identity' && n.input?.[0]) return constOf(n.input[0]);
    return n?.op === 'Const' ? graph.consts.get(node) : undefined;
  };
  const requireConst = (ref: string, what: string): TfConst => {
    const c = constOf(ref);
    if (!c) throw new Error(`${what}: ${ref} is not a constant`);
    return c;
  };

  /** Integer values of a shape computation, with the batch dimension fixed at 1. */
  const foldInts = (ref: string): number[] => {
    const c = constOf(ref);
    if (c) return Array.from(c.data, Number);
    const n = graph.nodes.get(parseRef(ref).node);
    if (!n) throw new Error(`unknown node ${ref}`);
    if (n.op === 'Pack') return (n.input ?? []).filter((r) => !r.startsWith('^')).flatMap(foldInts);
    if (n.op === 'StridedSlice') {
      const src = graph.nodes.get(parseRef(n.input![0]!).node);
      const begin = foldInts(n.input![1]!);
      const end = foldInts(n.input![2]!);
      if (src?.op === 'Shape' && begin[0] === 0 && end[0] === 1) return [1]; // the batch size
    }
    throw new Error(`cannot fold ${n.op} (node ${n.name}) to a constant shape`);
  };

  const input = (): Value => {
    let name = 'input';
    if (spec.resizeInput) {
      if (!spec.uint8Input || spec.inputShape[0] !== 1) throw new Error('resizeInput needs uint8Input and a batch of 1');
      // 8-bit, before the cast: the detectors were measured on 8-bit inputs (sharp's), and a
      // float resize after it, though closer to TF's values and faster (1.8 vs 3.3 ms), cost
      // the eval two yes/no answers (176 → 174 of 181, below its floor).
      const [, h, w, c] = spec.inputShape;
      name = emit('Resize', [name, '', '', int64Init('input/size', [1, h, w, c])], 'input/resize', { mode: 'linear', coordinate_transformation_mode: 'half_pixel' });
    }
    if (spec.uint8Input) {
      const f = emit('Cast', [name], 'input/cast', { to: OnnxType.FLOAT });
      const scaled = emit('Mul', [f, floatInit('input/scale', [], Float32Array.of(spec.uint8Input.scale))], 'input/scale');
      name = emit('Add', [scaled, floatInit('input/offset', [], Float32Array.of(spec.uint8Input.offset))], 'input/offset');
    }
    return { name: emit('Transpose', [name], 'input/to_nchw', { perm: NHWC_TO_NCHW }), layout: 'nchw' };
  };

  /** An operand of an elementwise op: a constant laid out to broadcast against `layout`. */
  const operand = (ref: string, layout: Layout, node: TfNode): Value => {
    const c = constOf(ref);
    if (!c) return value(ref);
    if (c.dtype !== 'float32') throw new Error(`${node.name}: integer constant operand ${ref}`);
    let dims = c.shape;
    if (layout === 'nchw') {
      if (dims.length === 1) dims = [dims[0]!, 1, 1];
      else if (dims.length > 1 && dims.some((d) => d !== 1)) throw new Error(`${node.name}: constant ${ref} of shape [${dims}] against an NCHW map`);
    }
    return { name: floatInit(parseRef(ref).node, dims, c.data as Float32Array), layout: 'plain' };
  };

  const fusedOps = (n: TfNode): string[] => (n.attr?.fused_ops?.list?.s ?? []).map((s) => attrString({ s }) ?? '');
  /** A fused activation after `x` (undefined: none). */
  const activation = (op: string | undefined, x: string, n: TfNode): string => {
    if (op === undefined) return x;
    if (op === 'Relu') return emit('Relu', [x], `${n.name}/relu`);
    if (op === 'Relu6') return emit('Clip', [x, floatInit('relu6/min', [], Float32Array.of(0)), floatInit('relu6/max', [], Float32Array.of(6))], `${n.name}/relu6`);
    throw new Error(`${n.name}: fused activation ${op} is not supported`);
  };

  const convertNode = (n: TfNode): Value => {
    const inputs = (n.input ?? []).filter((r) => !r.startsWith('^'));
    if (n.name === spec.inputNode) return input();
    const a = n.attr ?? {};
    if (n.op === 'Identity') return value(inputs[0]!);
    if (n.op === 'Conv2D' || n.op === 'DepthwiseConv2dNative' || n.op === '_FusedConv2D' || n.op === 'FusedDepthwiseConv2dNative') {
      if ((attrString(a.data_format) ?? 'NHWC') !== 'NHWC') throw new Error(`${n.name}: data_format ${attrString(a.data_format)}`);
      const x = value(inputs[0]!);
      if (x.layout !== 'nchw') throw new Error(`${n.name}: input is not a feature map`);
      const w = requireConst(inputs[1]!, n.name);
      const [kh, kw, ci, co] = w.shape as [number, number, number, number];
      const depthwise = n.op.includes('Depthwise');
      const weights = depthwise ? hwcmToGrouped(w.data as Float32Array, w.shape) : hwioToOihw(w.data as Float32Array, w.shape);
      const dims = depthwise ? [ci * co, 1, kh, kw] : [co, ci, kh, kw];
      const strides = attrInts(a.strides);
      const dilations = attrInts(a.dilations);
      // TF.js's fused convolutions: conv + BiasAdd (+ activation) in one node, bias as arg 2.
      const fused = fusedOps(n);
      const convInputs = [x.name, floatInit(`${n.name}/W`, dims, weights)];
      if (fused[0] === 'BiasAdd') {
        const b = requireConst(inputs[2]!, n.name);
        convInputs.push(floatInit(`${n.name}/B`, [b.shape[0]!], b.data as Float32Array));
      } else if (fused.length) throw new Error(`${n.name}: fused ops ${fused.join('+')} are not supported`);
      const out = emit('Conv', convInputs, n.name, {
        kernel_shape: [kh, kw],
        strides: strides.length === 4 ? [strides[1]!, strides[2]!] : [1, 1],
        dilations: dilations.length === 4 ? [dilations[1]!, dilations[2]!] : [1, 1],
        auto_pad: autoPad(attrString(a.padding)),
        group: depthwise ? ci : 1,
      });
      return { name: activation(fused[1], out, n), layout: 'nchw' };
    }
    if (n.op === '_FusedMatMul' || n.op === 'MatMul') {
      const x = toPlain(value(inputs[0]!), n.name);
      if (a.transpose_a?.b) throw new Error(`${n.name}: transpose_a is not supported`);
      const w = requireConst(inputs[1]!, n.name);
      const fused = fusedOps(n);
      const gemmInputs = [x, floatInit(`${n.name}/W`, w.shape, w.data as Float32Array)];
      if (fused[0] === 'BiasAdd') {
        const b = requireConst(inputs[2]!, n.name);
        gemmInputs.push(floatInit(`${n.name}/B`, [b.shape[0]!], b.data as Float32Array));
      } else if (fused.length) throw new Error(`${n.name}: fused ops ${fused.join('+')} are not supported`);
      const out = emit('Gemm', gemmInputs, n.name, { transB: a.transpose_b?.b ? 1 : 0 });
      return { name: activation(fused[1], out, n), layout: 'plain' };
    }
    if (n.op === 'AvgPool' || n.op === 'MaxPool') {
      const x = value(inputs[0]!);
      if (x.layout !== 'nchw') throw new Error(`${n.name}: pooling of a non-feature-map`);
      const k = attrInts(a.ksize);
      const s = attrInts(a.strides);
      const out = emit(n.op === 'AvgPool' ? 'AveragePool' : 'MaxPool', [x.name], n.name, {
        kernel_shape: [k[1]!, k[2]!],
        strides: [s[1]!, s[2]!],
        auto_pad: autoPad(attrString(a.padding)),
      });
      return { name: out, layout: 'nchw' };
    }
    if (n.op === 'Mean') {
      // Squeeze-and-excite's global average: over H and W of a feature map, kept as 1×1.
      const x = value(inputs[0]!);
      const axes = foldInts(inputs[1]!).map((d) => (d < 0 ? d + 4 : d));
      if (x.layout !== 'nchw' || !a.keep_dims?.b || axes.length !== 2 || !axes.includes(1) || !axes.includes(2))
        throw new Error(`${n.name}: only a kept-dims mean over height and width is supported`);
      return { name: emit('ReduceMean', [x.name], n.name, { axes: [2, 3], keepdims: 1 }), layout: 'nchw' };
    }
    if (n.op === 'ResizeBilinear') {
      // The target size is a constant [h, w]; ORT's Resize wants all four NCHW sizes, so the
      // batch and channels come from the input's own shape.
      const x = value(inputs[0]!);
      if (x.layout !== 'nchw') throw new Error(`${n.name}: resize of a non-feature-map`);
      const mode = a.align_corners?.b ? 'align_corners' : a.half_pixel_centers?.b ? 'half_pixel' : 'asymmetric';
      const attrs = { mode: 'linear', coordinate_transformation_mode: mode };
      if (spec.resizeFactor !== undefined) {
        const f = spec.resizeFactor;
        return { name: emit('Resize', [x.name, '', floatInit(`${n.name}/scales`, [4], Float32Array.of(1, 1, f, f))], n.name, attrs), layout: 'nchw' };
      }
      const hw = foldInts(inputs[1]!);
      const nc = emit('Slice', [emit('Shape', [x.name], `${n.name}/shape`), int64Init(`${n.name}/s0`, [0]), int64Init(`${n.name}/s1`, [2])], `${n.name}/nc`);
      const sizes = emit('Concat', [nc, int64Init(`${n.name}/hw`, hw)], `${n.name}/sizes`, { axis: 0 });
      return { name: emit('Resize', [x.name, '', '', sizes], n.name, attrs), layout: 'nchw' };
    }
    if (n.op === 'Softmax') {
      return { name: emit('Softmax', [toPlain(value(inputs[0]!), n.name)], n.name, { axis: -1 }), layout: 'plain' };
    }
    if (n.op in ELEMENTWISE) {
      const vals = inputs.map((r) => (constOf(r) ? undefined : value(r)));
      const layout: Layout = vals.some((v) => v?.layout === 'nchw') ? 'nchw' : 'plain';
      if (vals.some((v) => v && v.layout !== layout)) throw new Error(`${n.name}: mixes NCHW and plain operands`);
      const names = inputs.map((r, k) => vals[k]?.name ?? operand(r, layout, n).name);
      return { name: emit(ELEMENTWISE[n.op]!, names, n.name), layout };
    }
    if (n.op === 'AddN') {
      const vals = inputs.map((r) => value(r));
      if (new Set(vals.map((v) => v.layout)).size > 1) throw new Error(`${n.name}: mixes layouts`);
      return { name: emit('Sum', vals.map((v) => v.name), n.name), layout: vals[0]!.layout };
    }
    if (n.op === 'Relu6') {
      const x = value(inputs[0]!);
      const lo = floatInit('relu6/min', [], Float32Array.of(0));
      const hi = floatInit('relu6/max', [], Float32Array.of(6));
      return { name: emit('Clip', [x.name, lo, hi], n.name), layout: x.layout };
    }
    if (n.op in UNARY) {
      const x = value(inputs[0]!);
      return { name: emit(UNARY[n.op]!, [x.name], n.name), layout: x.layout };
    }
    if (n.op === 'FusedBatchNorm' || n.op === 'FusedBatchNormV3') {
      const x = value(inputs[0]!);
      if (x.layout !== 'nchw') throw new Error(`${n.name}: batch norm of a non-feature-map`);
      const params = inputs.slice(1, 5).map((r) => {
        const c = requireConst(r, n.name);
        return floatInit(parseRef(r).node, c.shape, c.data as Float32Array);
      });
      return { name: emit('BatchNormalization', [x.name, ...params], n.name, { epsilon: { float: a.epsilon?.f ?? 1e-3 } }), layout: 'nchw' };
    }
    if (n.op === 'Reshape') {
      const x = toPlain(value(inputs[0]!), n.name);
      return { name: emit('Reshape', [x, int64Init(`${n.name}/shape`, foldInts(inputs[1]!))], n.name), layout: 'plain' };
    }
    if (n.op === 'ConcatV2') {
      const axis = foldInts(inputs[inputs.length - 1]!)[0]!;
      const vals = inputs.slice(0, -1).map((r) => value(r));
      if (vals.every((v) => v.layout === 'nchw') && (axis === 3 || axis === -1))
        return { name: emit('Concat', vals.map((v) => v.name), n.name, { axis: 1 }), layout: 'nchw' };
      return { name: emit('Concat', vals.map((v) => toPlain(v, n.name)), n.name, { axis }), layout: 'plain' };
    }
    if (n.op === 'Squeeze') {
      const x = toPlain(value(inputs[0]!), n.name);
      return { name: emit('Squeeze', [x, int64Init(`${n.name}/axes`, attrInts(a.squeeze_dims))], n.name), layout: 'plain' };
    }
    throw new UnsupportedOpError(n.op, n.name);
  };

  function value(ref: string): Value {
    const { node, index } = parseRef(ref);
    if (index !== 0) throw new Error(`output ${index} of ${node} is not supported`);
    const hit = done.get(node);
    if (hit) return hit;
    const n = graph.nodes.get(node);
    if (!n) throw new Error(`unknown node ${node}`);
    const v = convertNode(n);
    done.set(node, v);
    return v;
  }

  const outputs = spec.outputs.map((o) => {
    const v = value(o);
    const name = v.layout === 'nchw' ? toPlain(v, o) : v.name;
    nodes.push({ opType: 'Identity', inputs: [name], outputs: [o], name: `${o}/out` });
    return { name: o, elemType: OnnxType.FLOAT };
  });

  for (const c of spec.constOutputs ?? []) {
    const t = requireConst(c, 'constOutputs');
    if (t.dtype !== 'float32') throw new Error(`constOutputs: ${c} is not float32`);
    nodes.push({ opType: 'Identity', inputs: [floatInit(c, t.shape, t.data as Float32Array)], outputs: [c], name: `${c}/out` });
    outputs.push({ name: c, elemType: OnnxType.FLOAT });
  }

  const [batch, , , channels] = spec.inputShape;
  const converted: OnnxGraph = {
    name: spec.name ?? 'converted',
    nodes,
    initializers,
    inputs: [{ name: 'input', elemType: spec.uint8Input ? OnnxType.UINT8 : OnnxType.FLOAT, shape: spec.resizeInput ? [batch, 'height', 'width', channels] : [...spec.inputShape] }],
    outputs,
    opset: 13,
  };
  return fuseHardActivations(converted).graph;
}
