/**
 * MobileNetV3's hard-swish and hard-sigmoid as TF exports them, elementwise op by op:
 *   hard-swish   (c·x) · relu6(x + 3)      four passes over a feature map (Mul, Add, Clip, Mul)
 *   hard-sigmoid  c · relu6(x + 3)         (squeeze-and-excite's gate)
 * rewritten as ONNX's one-pass HardSwish and HardSigmoid. On CenterNet (28 of them) that took
 * ORT from ~29 to ~26.5 ms per 512² run on one core (measured 2026-12-04, docs/detectors.md).
 *
 * Exact, not approximately so: the graphs store c = 1/6 as float16 (0.16662598), and ONNX's ops
 * use 1/6 itself, so the results are scaled by k = 6c (≈ 0.99976). For hard-swish, k goes into
 * the weights of the convolutions that read the result when they are its only readers (a
 * convolution is linear: conv(k·y, W) = conv(y, k·W)); otherwise, and for hard-sigmoid, one
 * Mul by k stays. The heads then match the unrewritten graph to ~1e-6.
 *
 * Pure: takes and returns an OnnxGraph (opset raised to 14, where HardSwish is defined).
 */
import { OnnxType, type OnnxGraph, type OnnxNode, type OnnxTensor } from './proto.js';

/** How far a stored constant may be from 1/6 and still be read as "divide by six" (float16 rounding is 4e-5). */
const SIXTH_TOLERANCE = 1e-3;

const floatsOf = (t: OnnxTensor): Float32Array => new Float32Array(t.data.slice().buffer);

export interface HardActivationCounts {
  hardSwish: number;
  hardSigmoid: number;
  /** Hard-swishes whose factor went into the reading convolutions' weights. */
  folded: number;
}

export function fuseHardActivations(g: OnnxGraph): { graph: OnnxGraph; counts: HardActivationCounts } {
  const init = new Map(g.initializers.map((t) => [t.name, t]));
  const producer = new Map<string, OnnxNode>();
  const readers = new Map<string, OnnxNode[]>();
  for (const n of g.nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of n.inputs) readers.set(i, [...(readers.get(i) ?? []), n]);
  }
  const scalar = (name: string): number | undefined => {
    const t = init.get(name);
    return t && t.dataType === OnnxType.FLOAT && t.data.byteLength === 4 ? floatsOf(t)[0] : undefined;
  };
  const isSixth = (name: string) => Math.abs((scalar(name) ?? 0) - 1 / 6) < SIXTH_TOLERANCE;
  const onlyRead = (name: string) => readers.get(name)?.length === 1 && !g.outputs.some((o) => o.name === name);
  /** relu6(x + 3) as Clip(Add(x, 3), 0, 6): its x, or undefined. */
  const relu6Plus3 = (clip: OnnxNode | undefined): { x: string; add: OnnxNode } | undefined => {
    if (clip?.opType !== 'Clip' || scalar(clip.inputs[1] ?? '') !== 0 || scalar(clip.inputs[2] ?? '') !== 6 || !onlyRead(clip.outputs[0]!)) return undefined;
    const add = producer.get(clip.inputs[0]!);
    if (add?.opType !== 'Add' || !onlyRead(add.outputs[0]!)) return undefined;
    const k = add.inputs.findIndex((i) => scalar(i) === 3);
    return k < 0 ? undefined : { x: add.inputs[1 - k]!, add };
  };

  const removed = new Set<OnnxNode>();
  const replaced = new Map<OnnxNode, OnnxNode[]>();
  const added: OnnxTensor[] = [];
  const counts: HardActivationCounts = { hardSwish: 0, hardSigmoid: 0, folded: 0 };
  const constant = (name: string, v: number) => {
    added.push({ name, dataType: OnnxType.FLOAT, dims: [], data: new Uint8Array(Float32Array.of(v).buffer) });
    return name;
  };

  for (const n of g.nodes) {
    if (n.opType !== 'Mul' || removed.has(n)) continue;
    const [a, b] = n.inputs.map((i) => producer.get(i));
    // hard-swish: Mul(Mul(c, x), Clip(Add(x, 3), 0, 6))
    let swish: { x: string; c: string; parts: OnnxNode[] } | undefined;
    for (const [scaled, clip] of [[a, b], [b, a]] as const) {
      if (scaled?.opType !== 'Mul' || !onlyRead(scaled.outputs[0]!)) continue;
      const ci = scaled.inputs.findIndex(isSixth);
      const r = relu6Plus3(clip);
      if (ci < 0 || !r || r.x !== scaled.inputs[1 - ci]) continue;
      swish = { x: r.x, c: scaled.inputs[ci]!, parts: [scaled, clip!, r.add] };
      break;
    }
    if (swish) {
      swish.parts.forEach((p) => removed.add(p));
      counts.hardSwish++;
      const out = n.outputs[0]!;
      const k = 6 * scalar(swish.c)!;
      const convs = readers.get(out) ?? [];
      const foldable =
        convs.length > 0 &&
        !g.outputs.some((o) => o.name === out) &&
        convs.every((c) => c.opType === 'Conv' && c.inputs[0] === out && c.inputs.indexOf(out, 1) < 0 && init.has(c.inputs[1]!) && readers.get(c.inputs[1]!)!.length === 1);
      if (foldable) {
        counts.folded++;
        replaced.set(n, [{ opType: 'HardSwish', inputs: [swish.x], outputs: [out], name: n.name ?? out }]);
        for (const c of convs) {
          const w = init.get(c.inputs[1]!)!;
          const scaledW = floatsOf(w).map((v) => v * k);
          init.set(w.name, { ...w, data: new Uint8Array(scaledW.buffer) });
        }
      } else {
        replaced.set(n, [
          { opType: 'HardSwish', inputs: [swish.x], outputs: [`${out}/hard_swish`], name: `${n.name ?? out}/hard_swish` },
          { opType: 'Mul', inputs: [`${out}/hard_swish`, constant(`${out}/six_c`, k)], outputs: [out], name: n.name ?? out },
        ]);
      }
      continue;
    }
    // hard-sigmoid: Mul(c, Clip(Add(x, 3), 0, 6))
    const ci = n.inputs.findIndex(isSixth);
    const clip = ci < 0 ? undefined : producer.get(n.inputs[1 - ci]!);
    const r = relu6Plus3(clip);
    if (!r) continue;
    removed.add(clip!);
    removed.add(r.add);
    counts.hardSigmoid++;
    const out = n.outputs[0]!;
    replaced.set(n, [
      { opType: 'HardSigmoid', inputs: [r.x], outputs: [`${out}/hard_sigmoid`], name: `${n.name ?? out}/hard_sigmoid`, attrs: { alpha: { float: 1 / 6 }, beta: { float: 0.5 } } },
      { opType: 'Mul', inputs: [`${out}/hard_sigmoid`, constant(`${out}/six_c`, 6 * scalar(n.inputs[ci]!)!)], outputs: [out], name: n.name ?? out },
    ]);
  }

  if (counts.hardSwish + counts.hardSigmoid === 0) return { graph: g, counts };
  const used = new Set<string>();
  const nodes = g.nodes.flatMap((n) => (removed.has(n) ? [] : (replaced.get(n) ?? [n])));
  for (const n of nodes) n.inputs.forEach((i) => used.add(i));
  const initializers = [...init.values(), ...added].filter((t) => used.has(t.name));
  return { graph: { ...g, nodes, initializers, opset: Math.max(g.opset, 14) }, counts };
}
