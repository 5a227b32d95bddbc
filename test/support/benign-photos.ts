/**
 * The benign photo set the safety classifier is measured on: ordinary real photos from
 * Debian packages, listed (package, path, what, tags) in ./benign-photos.json and copied
 * into `.fixtures/benign/` by scripts/fetch-fixtures.sh (the vitest global setup runs it).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES_DIR } from './fixtures.js';

export type BenignTag = 'people' | 'sportswear' | 'greyscale' | 'low-light' | 'skin-coloured';

export interface BenignPhoto {
  /** Debian package the photo comes from. */
  package: string;
  /** Path inside the package. */
  path: string;
  /** What the photo shows, as checked by eye. */
  what: string;
  tags: BenignTag[];
  /** File name in BENIGN_DIR (the basename of `path`, unique in the list). */
  name: string;
  /** Where the fetch script puts it. */
  file: string;
}

export const BENIGN_MANIFEST = new URL('./benign-photos.json', import.meta.url);
export const BENIGN_DIR = path.join(FIXTURES_DIR, 'benign');

/** Every photo of the manifest, in its order. Throws on a malformed manifest or a repeated file name. */
export function benignPhotos(): BenignPhoto[] {
  const manifest = JSON.parse(readFileSync(BENIGN_MANIFEST, 'utf8')) as { photos: Array<Omit<BenignPhoto, 'name' | 'file'>> };
  const seen = new Set<string>();
  return manifest.photos.map((p) => {
    const name = path.posix.basename(p.path);
    if (!p.package || !name || seen.has(name)) throw new Error(`benign-photos.json: bad or repeated entry ${JSON.stringify(p)}`);
    seen.add(name);
    return { ...p, tags: p.tags ?? [], name, file: path.join(BENIGN_DIR, name) };
  });
}

/** The photos, each checked to be on disk (fetched): a missing one is an error, never a skip. */
export function fetchedBenignPhotos(): BenignPhoto[] {
  const photos = benignPhotos();
  const missing = photos.filter((p) => !existsSync(p.file)).map((p) => p.name);
  if (missing.length > 0)
    throw new Error(`benign photos missing in ${BENIGN_DIR}: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? '…' : ''}: run scripts/fetch-fixtures.sh`);
  return photos;
}
