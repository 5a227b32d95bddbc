/**
 * Reads a TF.js graph model (model.json + weight shards) as plain data: its nodes and its
 * constants by name. No TF.js involved, so the ONNX converter and the ORT detectors do not
 * load it. Constants come from the weight shards (laid out in manifest order, as TF.js reads
 * them) or, for small ones, from the value inlined in model.json.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface TfAttr {
  s?: string | number[];
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: number;
  list?: { i?: Array<string | number>; s?: Array<string | number[]>; f?: number[] };
  tensor?: { dtype?: number | string; tensorShape?: { dim?: Array<{ size: string | number }> }; intVal?: number[]; floatVal?: number[] };
}

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}

export interface TfConst {
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface TfGraph {
  nodes: Map<string, TfNode>;
  consts: Map<string, TfConst>;
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  /** TF.js's weight quantisation: stored as uint8/uint16, value = q · scale + min. */
  quantization?: { dtype: string; min?: number; scale?: number };
}

interface ModelJson {
  modelTopology: { node: TfNode[] };
  weightsManifest?: Array<{ paths: string[]; weights: ManifestEntry[] }>;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** IEEE 754 half (bits) → number: sign, 5-bit exponent (bias 15), 10-bit fraction; subnormals, ±inf, NaN. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Parses model.json and the concatenated shard bytes into nodes and constants. */
export function parseTfGraph(json: ModelJson, weights: Uint8Array): TfGraph {
  const nodes = new Map(json.modelTopology.node.map((n) => [n.name, n]));
  const consts = new Map<string, TfConst>();
  let offset = 0;
  for (const spec of (json.weightsManifest ?? []).flatMap((g) => g.weights)) {
    if (spec.dtype !== 'float32' && spec.dtype !== 'int32') throw new Error(`weight ${spec.name} has dtype ${spec.dtype}`);
    const n = size(spec.shape);
    const q = spec.quantization;
    if (q) {
      if (q.dtype === 'float16') {
        // Half-precision storage (CenterNet's weights): widened to float32 exactly.
        const raw = Uint8Array.prototype.slice.call(weights, offset, offset + n * 2);
        offset += n * 2;
        const halves = new Uint16Array(raw.buffer, 0, n);
        const data = spec.dtype === 'float32' ? new Float32Array(n) : new Int32Array(n);
        for (let k = 0; k < n; k++) data[k] = halfToFloat(halves[k]!);
        consts.set(spec.name, { dtype: spec.dtype, shape: spec.shape, data });
        continue;
      }
      const width = q.dtype === 'uint8' ? 1 : q.dtype === 'uint16' ? 2 : 0;
      if (!width || q.scale === undefined || q.min === undefined) throw new Error(`weight ${spec.name}: unsupported quantisation ${JSON.stringify(q)}`);
      const raw = Uint8Array.prototype.slice.call(weights, offset, offset + n * width);
      offset += n * width;
      const codes = width === 1 ? raw : new Uint16Array(raw.buffer, 0, n);
      const data = spec.dtype === 'float32' ? new Float32Array(n) : new Int32Array(n);
      for (let k = 0; k < n; k++) data[k] = codes[k]! * q.scale + q.min;
      consts.set(spec.name, { dtype: spec.dtype, shape: spec.shape, data });
      continue;
    }
    // Copy (Buffer#slice would be a view): shard bytes need not be 4-byte aligned for a typed array.
    const bytes = Uint8Array.prototype.slice.call(weights, offset, offset + n * 4);
    offset += n * 4;
    const data = spec.dtype === 'float32' ? new Float32Array(bytes.buffer, 0, n) : new Int32Array(bytes.buffer, 0, n);
    consts.set(spec.name, { dtype: spec.dtype, shape: spec.shape, data });
  }
  if (offset !== weights.byteLength) throw new Error(`weights are ${weights.byteLength} bytes, the manifest describes ${offset}`);
  for (const node of nodes.values()) {
    if (node.op !== 'Const' || consts.has(node.name)) continue;
    const t = node.attr?.value?.tensor;
    if (!t) continue;
    const shape = (t.tensorShape?.dim ?? []).map((d) => Number(d.size));
    // DT_FLOAT = 1, DT_INT32 = 3 (tensorflow/core/framework/types.proto).
    if ((t.dtype === 3 || t.dtype === 'DT_INT32') && t.intVal?.length) {
      consts.set(node.name, { dtype: 'int32', shape, data: Int32Array.from({ length: size(shape) }, (_, k) => t.intVal![t.intVal!.length === 1 ? 0 : k]!) });
    } else if ((t.dtype === 1 || t.dtype === 'DT_FLOAT') && t.floatVal?.length) {
      consts.set(node.name, { dtype: 'float32', shape, data: Float32Array.from({ length: size(shape) }, (_, k) => t.floatVal![t.floatVal!.length === 1 ? 0 : k]!) });
    }
  }
  return { nodes, consts };
}

/** Reads model.json and its shards from disk. */
export async function readTfGraph(modelJsonPath: string): Promise<TfGraph> {
  const json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as ModelJson;
  const dir = path.dirname(modelJsonPath);
  const shards: Buffer[] = [];
  for (const group of json.weightsManifest ?? []) for (const p of group.paths) shards.push(await readFile(path.join(dir, p)));
  return parseTfGraph(json, Buffer.concat(shards));
}

/** A string attribute (TF.js writes bytes as base64 or as a list of char codes). */
export function attrString(a: TfAttr | undefined): string | undefined {
  const s = a?.s;
  if (s === undefined) return undefined;
  return Array.isArray(s) ? String.fromCharCode(...s) : Buffer.from(s, 'base64').toString('utf8');
}

export const attrInts = (a: TfAttr | undefined): number[] => (a?.list?.i ?? []).map(Number);
