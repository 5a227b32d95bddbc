/**
 * Converted models on disk: a TF.js graph is turned into ONNX once (at first use, ~1 s for
 * SSD-MobileNetV2) and the .onnx file is kept in the model cache, named for the source
 * package version and the converter version, so a new package or converter converts again.
 * Written under a temporary name and renamed into place: a crash never leaves half a model.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { modelCacheDir, type ModelPackage } from '../model-files.js';
import { convertTfGraph, type ConvertSpec } from './convert.js';
import { encodeModel } from './proto.js';
import { readTfGraph, type TfGraph } from './tf-graph.js';

/** Bump when the converter's output changes, so cached conversions are redone. */
export const CONVERTER_VERSION = 2;

export function convertedModelPath(pkg: ModelPackage, variant: string, cache = modelCacheDir()): string {
  return path.join(cache, 'onnx', `${pkg.name.replace('/', '__')}@${pkg.version}-${variant}-c${CONVERTER_VERSION}.onnx`);
}

/** Where the TF.js graph comes from: a model.json path, or a reader for packages that wrap it. */
export type GraphSource = string | (() => Promise<TfGraph>);

/** Converts the graph per `spec` into ONNX bytes (no disk writes). */
export async function convertModelFile(source: GraphSource, spec: ConvertSpec): Promise<Uint8Array> {
  const graph = typeof source === 'string' ? await readTfGraph(source) : await source();
  return encodeModel(convertTfGraph(graph, spec), { name: 'ocellus-tfjs-to-onnx', version: String(CONVERTER_VERSION) });
}

/** The cached conversion's bytes, converting and storing it first when absent. */
export async function loadOrConvert(source: GraphSource, spec: ConvertSpec, target: string): Promise<Uint8Array> {
  if (existsSync(target)) return readFile(target);
  const bytes = await convertModelFile(source, spec);
  await mkdir(path.dirname(target), { recursive: true });
  // Unique per writer: the workers of one process may convert at the same moment.
  const tmp = `${target}.${randomUUID()}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, target);
  } catch {
    // A read-only cache is not fatal: the model runs from memory and converts again next start.
    await rm(tmp, { force: true });
  }
  return bytes;
}
