/**
 * Test and benchmark fixtures: where they live, how to read them, and how the derived ones
 * are made.
 *
 * Two sources, one directory (`.fixtures/` at the repo root, gitignored):
 *  - scripts/fetch-fixtures.sh brings what needs Debian: the darknet sample photos,
 *    coco.names, and dog.heic (heif-enc), and installs curl/jq.
 *  - `generateFixtures()` below makes everything else from dog.jpg/kite.jpg with sharp,
 *    plus two files built byte by byte (the pixel bomb and the rotated HEIC) because no
 *    encoder writes them.
 *
 * Tests import `fixturePath` / `readFixture`. The vitest global setup runs the script once
 * per run (`ensureFixtures`), and the script runs this file with `--generate`, so
 * `scripts/fetch-fixtures.sh` on its own also leaves a complete directory. Every file is
 * written under a temporary name and renamed, so concurrent runs never see half a file.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createDeflate } from 'node:zlib';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES_DIR = process.env.OCELLUS_FIXTURES_DIR ?? path.join(REPO_ROOT, '.fixtures');
export const FETCH_SCRIPT = path.join(REPO_ROOT, 'scripts', 'fetch-fixtures.sh');

/** From Debian (scripts/fetch-fixtures.sh). */
export const DEBIAN_FIXTURES = [
  'dog.jpg', // 768x576, a dog, a bicycle and a truck (the darknet detection demo)
  'person.jpg', // 640x424, a person, a dog and a horse
  'horses.jpg', // 773x512
  'giraffe.jpg', // 500x500
  'kite.jpg', // 1352x900, people flying kites
  'eagle.jpg', // 773x512
  'scream.jpg', // 352x448, the painting
  'coco.names', // the 80 COCO class names, one a line
  'dog.heic', // dog.jpg through heif-enc -q 60: HEVC, 768x576, no irot
] as const;

/** Made by `generateFixtures` (sharp, or byte-level where noted). */
export const GENERATED_FIXTURES = [
  'dog.png',
  'dog.webp',
  'dog.gif',
  'dog.tiff',
  'dog.avif', // AV1 in HEIF; sharp decodes it natively
  'dog-exif6.jpg', // stored 768x576 with EXIF orientation 6 → upright 576x768
  'dog-phone.jpg', // as a phone saves it: pixels stored turned (576x768) + orientation 6 → upright 768x576 dog
  'dog-grey.jpg', // 1-channel greyscale JPEG
  'dog-cmyk.jpg', // 4-channel CMYK JPEG
  'dog-transparent.png', // dog.jpg with alpha 0 everywhere: decodes to pure white
  'dog-irot.heic', // dog.heic with an irot box (90° clockwise) added: upright 576x768
  'pixel-1x1.png', // one red pixel
  'dog-truncated.jpg', // the first half of dog.jpg's bytes
  'photo-12mp.jpg', // 4000x3000 photo-like JPEG (kite.jpg upscaled + grain), for benchmarks
  'big.png', // a valid PNG larger than 8 MiB, for upload-limit tests
  'bomb.png', // 50000x50000 1-bit PNG of ~300 KB: a decompression bomb
] as const;

export type FixtureName = (typeof DEBIAN_FIXTURES)[number] | (typeof GENERATED_FIXTURES)[number];

export function fixturePath(name: FixtureName): string {
  return path.join(FIXTURES_DIR, name);
}

/**
 * A photo of the eval set (eval/labels.json): darknet's live in .fixtures/ itself, the
 * others in .fixtures/eval/ (scripts/fetch-fixtures.sh copies them out of their packages).
 */
export function evalPhotoPath(name: string, sourcePackage: string): string {
  return sourcePackage === 'darknet' ? path.join(FIXTURES_DIR, name) : path.join(FIXTURES_DIR, 'eval', name);
}

export function readFixture(name: FixtureName): Buffer {
  const p = fixturePath(name);
  if (!existsSync(p))
    throw new Error(`fixture ${name} is missing at ${p}: run scripts/fetch-fixtures.sh (the vitest global setup does this)`);
  return readFileSync(p);
}

// ---- generation -------------------------------------------------------------------------

const BOMB_SIDE = 50_000;
const MIB = 1024 * 1024;

/**
 * Gaussian-ish grain from a fixed-seed xorshift, as a PNG: fixtures must be byte-identical on
 * every machine (sharp's `noise` is random), or tests that look at them pass here and fail there.
 */
async function seededGrain(width: number, height: number, sigma: number): Promise<Buffer> {
  const sharp = (await import('sharp')).default;
  const noise = Buffer.alloc(width * height * 3);
  let x = 0x9e3779b9;
  for (let i = 0; i < noise.length; i++) {
    let sum = 0;
    for (let k = 0; k < 3; k++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      sum += (x >>> 0) / 4294967296;
    }
    // The sum of 3 uniforms has standard deviation 0.5: scale it to sigma around 128.
    noise[i] = Math.max(0, Math.min(255, Math.round(128 + (sum - 1.5) * 2 * sigma)));
  }
  return sharp(noise, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
}

async function writeAtomically(file: string, data: Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/** CRC-32 (PNG chunk checksums). */
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * A valid PNG that declares side×side pixels of 1-bit black. Each row is 1 filter byte +
 * side/8 zero bytes, so the zlib stream compresses ~1000:1 (50000² → ~300 KB): tiny on
 * disk, 2.5 gigapixels once decoded. Written by hand because encoding it through sharp
 * would push 2.5 G pixels through libvips.
 */
async function makeBombPng(file: string, side: number): Promise<void> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  const rowBytes = 1 + Math.ceil(side / 8);
  const rowsPerChunk = 64;
  const zeros = Buffer.alloc(rowBytes * rowsPerChunk);
  const deflate = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (d: Buffer) => parts.push(d));
  const done = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve);
    deflate.on('error', reject);
  });
  for (let row = 0; row < side; row += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, side - row);
    if (!deflate.write(zeros.subarray(0, rows * rowBytes))) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  await writeAtomically(
    file,
    Buffer.concat([signature, pngChunk('IHDR', ihdr), pngChunk('IDAT', Buffer.concat(parts)), pngChunk('IEND', Buffer.alloc(0))]),
  );
}

interface Box {
  off: number;
  size: number;
}
function findBox(b: Buffer, start: number, end: number, type: string): Box {
  for (let off = start; off + 8 <= end; ) {
    const size = b.readUInt32BE(off);
    if (size < 8) throw new Error(`bad ISOBMFF box size ${size} at ${off}`);
    if (b.toString('latin1', off + 4, off + 8) === type) return { off, size };
    off += size;
  }
  throw new Error(`no ${type} box in ${start}..${end}`);
}

/**
 * Adds an `irot` property (rotation of angle×90° anticlockwise) to the primary item of a
 * single-image HEIF as heif-enc writes it, so tests can check that HEIF rotation is applied.
 * heif-enc 1.15 cannot write irot itself. Inserting 10 bytes into `meta` (9 for the irot
 * box in ipco, 1 for its ipma association) shifts `mdat`, so iloc's file offsets move too.
 * Throws on any layout it does not expect rather than writing a broken file.
 */
export function addHeifIrot(src: Buffer, angle: 0 | 1 | 2 | 3): Buffer {
  const meta = findBox(src, 0, src.length, 'meta');
  const metaBody = meta.off + 12; // full box: version + flags
  const iloc = findBox(src, metaBody, meta.off + meta.size, 'iloc');
  const iprp = findBox(src, metaBody, meta.off + meta.size, 'iprp');
  const ipco = findBox(src, iprp.off + 8, iprp.off + iprp.size, 'ipco');
  const ipma = findBox(src, iprp.off + 8, iprp.off + iprp.size, 'ipma');
  if (!(iloc.off < ipco.off && ipco.off < ipma.off)) throw new Error('unexpected box order in meta');
  let properties = 0;
  for (let o = ipco.off + 8; o < ipco.off + ipco.size; o += src.readUInt32BE(o)) properties++;
  const irotIndex = properties + 1; // ipma indices are 1-based
  const ipmaVersion = src[ipma.off + 8];
  const ipmaFlags = src.readUIntBE(ipma.off + 9, 3);
  if (ipmaVersion !== 0 || ipmaFlags & 1 || irotIndex > 127) throw new Error('unsupported ipma layout');
  const entries = src.readUInt32BE(ipma.off + 12);
  const primaryId = src.readUInt16BE(findBox(src, metaBody, meta.off + meta.size, 'pitm').off + 12);
  if (entries !== 1 || src.readUInt16BE(ipma.off + 16) !== primaryId) throw new Error('expected one ipma entry, for the primary item');

  const irot = Buffer.from([0, 0, 0, 9, 0x69, 0x72, 0x6f, 0x74, angle]);
  const essentialIrot = Buffer.from([0x80 | irotIndex]);
  const out = Buffer.concat([
    src.subarray(0, ipco.off + ipco.size),
    irot,
    src.subarray(ipco.off + ipco.size, ipma.off + ipma.size),
    essentialIrot,
    src.subarray(ipma.off + ipma.size),
  ]);
  const grow = irot.length + essentialIrot.length;
  const add = (pos: number, by: number): void => {
    out.writeUInt32BE(out.readUInt32BE(pos) + by, pos);
  };
  add(meta.off, grow);
  add(iprp.off, grow);
  add(ipco.off, irot.length);
  const newIpma = ipma.off + irot.length;
  add(newIpma, 1);
  out[newIpma + 18] = (out[newIpma + 18] ?? 0) + 1; // association count of the single entry

  // iloc sits before the insertion, so its own position is unchanged.
  const version = out[iloc.off + 8] ?? 0;
  if (version > 1) throw new Error('iloc version 2 not handled');
  const sizes = out[iloc.off + 12] ?? 0;
  const sizes2 = out[iloc.off + 13] ?? 0;
  const offsetSize = sizes >> 4;
  const lengthSize = sizes & 15;
  const baseOffsetSize = sizes2 >> 4;
  const indexSize = version === 1 ? sizes2 & 15 : 0;
  const readN = (pos: number, n: number): number =>
    n === 0 ? 0 : n === 4 ? out.readUInt32BE(pos) : Number(out.readBigUInt64BE(pos));
  const writeN = (pos: number, n: number, v: number): void => {
    if (n === 4) out.writeUInt32BE(v, pos);
    else out.writeBigUInt64BE(BigInt(v), pos);
  };
  let p = iloc.off + 14;
  const items = out.readUInt16BE(p);
  p += 2;
  for (let i = 0; i < items; i++) {
    p += 2; // item id
    let method = 0;
    if (version === 1) {
      method = out.readUInt16BE(p) & 15;
      p += 2;
    }
    p += 2; // data reference index
    const basePos = p;
    const base = readN(p, baseOffsetSize);
    p += baseOffsetSize;
    const extents = out.readUInt16BE(p);
    p += 2;
    const fileOffsets = method === 0; // 1 = idat, 2 = item: not file positions
    if (fileOffsets && base > 0) writeN(basePos, baseOffsetSize, base + grow);
    for (let e = 0; e < extents; e++) {
      p += indexSize;
      if (fileOffsets && base === 0 && offsetSize > 0) writeN(p, offsetSize, readN(p, offsetSize) + grow);
      p += offsetSize + lengthSize;
    }
  }
  return out;
}

type Maker = (dir: string, file: string) => Promise<void>;

function makers(): Record<(typeof GENERATED_FIXTURES)[number], Maker> {
  const sharpFrom = async (dir: string, name: FixtureName) => (await import('sharp')).default(path.join(dir, name));
  const viaSharp =
    (source: FixtureName, build: (s: import('sharp').Sharp) => import('sharp').Sharp): Maker =>
    async (dir, file) =>
      writeAtomically(file, await build(await sharpFrom(dir, source)).toBuffer());
  return {
    'dog.png': viaSharp('dog.jpg', (s) => s.png()),
    'dog.webp': viaSharp('dog.jpg', (s) => s.webp({ quality: 80 })),
    'dog.gif': viaSharp('dog.jpg', (s) => s.gif()),
    'dog.tiff': viaSharp('dog.jpg', (s) => s.tiff({ compression: 'lzw' })),
    'dog.avif': viaSharp('dog.jpg', (s) => s.avif({ quality: 50, effort: 2 })),
    'dog-exif6.jpg': viaSharp('dog.jpg', (s) => s.withMetadata({ orientation: 6 }).jpeg({ quality: 90 })),
    'dog-phone.jpg': async (dir, file) => {
      const sharp = (await import('sharp')).default;
      const turned = await (await sharpFrom(dir, 'dog.jpg')).rotate(270).toBuffer();
      await writeAtomically(file, await sharp(turned).withMetadata({ orientation: 6 }).jpeg({ quality: 90 }).toBuffer());
    },
    'dog-grey.jpg': viaSharp('dog.jpg', (s) => s.greyscale().toColourspace('b-w').jpeg({ quality: 90 })),
    'dog-cmyk.jpg': viaSharp('dog.jpg', (s) => s.toColourspace('cmyk').jpeg({ quality: 90 })),
    'dog-transparent.png': viaSharp('dog.jpg', (s) => s.ensureAlpha(0).png()),
    'dog-irot.heic': async (dir, file) => writeAtomically(file, addHeifIrot(await readFile(path.join(dir, 'dog.heic')), 3)),
    'pixel-1x1.png': async (_dir, file) => {
      const sharp = (await import('sharp')).default;
      const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: { r: 255, g: 0, b: 0 } } })
        .png()
        .toBuffer();
      await writeAtomically(file, png);
    },
    'dog-truncated.jpg': async (dir, file) => {
      const jpg = await readFile(path.join(dir, 'dog.jpg'));
      await writeAtomically(file, jpg.subarray(0, jpg.length >> 1));
    },
    // Upscaled photos are unnaturally smooth and decode faster than real ones; film-like
    // grain brings the entropy (and the file size, ~4-6 MB) to that of a phone photo.
    'photo-12mp.jpg': async (dir, file) => {
      const sharp = (await import('sharp')).default;
      const [width, height] = [4000, 3000];
      const grain = await seededGrain(width, height, 18);
      const jpg = await sharp(path.join(dir, 'kite.jpg'))
        .resize(width, height, { fit: 'fill' })
        .composite([{ input: grain, blend: 'overlay' }])
        .jpeg({ quality: 90 })
        .toBuffer();
      await writeAtomically(file, jpg);
    },
    // Strong noise over the dog so PNG's deflate cannot shrink it below the limit.
    'big.png': async (dir, file) => {
      const sharp = (await import('sharp')).default;
      const [width, height] = [2048, 1536];
      const noise = await seededGrain(width, height, 60);
      const png = await sharp(path.join(dir, 'dog.jpg'))
        .resize(width, height, { fit: 'fill' })
        .composite([{ input: noise, blend: 'overlay' }])
        .removeAlpha()
        .png({ compressionLevel: 6 })
        .toBuffer();
      if (png.length <= 8 * MIB) throw new Error(`big.png came out at ${png.length} bytes, not over 8 MiB`);
      await writeAtomically(file, png);
    },
    'bomb.png': async (_dir, file) => makeBombPng(file, BOMB_SIDE),
  };
}

/** Makes every generated fixture that is missing. Needs the Debian ones in place. */
export async function generateFixtures(dir: string = FIXTURES_DIR): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const source of ['dog.jpg', 'kite.jpg', 'dog.heic'] as const)
    if (!existsSync(path.join(dir, source))) throw new Error(`${source} missing in ${dir}: run scripts/fetch-fixtures.sh first`);
  const all = makers();
  for (const name of GENERATED_FIXTURES) {
    const file = path.join(dir, name);
    const ok = await stat(file).then(
      (s) => s.size > 0,
      () => false,
    );
    if (ok) continue;
    const started = performance.now();
    try {
      await all[name](dir, file);
    } catch (err) {
      await rm(`${file}.tmp-${process.pid}`, { force: true });
      throw new Error(`generating fixture ${name} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    process.stderr.write(`fixtures: made ${name} in ${Math.round(performance.now() - started)} ms\n`);
  }
}

/**
 * Runs scripts/fetch-fixtures.sh (Debian photos, dog.heic, curl/jq, then the generated
 * ones). Throws with the script's stderr when it fails: tests must not run without
 * fixtures, and must not silently skip.
 */
export async function ensureFixtures(): Promise<void> {
  try {
    await promisify(execFile)('bash', [FETCH_SCRIPT], {
      cwd: REPO_ROOT,
      env: { ...process.env, OCELLUS_FIXTURES_DIR: FIXTURES_DIR },
      maxBuffer: 16 * MIB,
      timeout: 10 * 60_000,
    });
  } catch (err) {
    const e = err as Error & { stderr?: string; code?: number | string };
    throw new Error(
      `Test fixtures could not be prepared: scripts/fetch-fixtures.sh exited with ${e.code ?? 'an error'}.\n` +
        (e.stderr ?? e.message).trim(),
      { cause: err },
    );
  }
  const missing = [...DEBIAN_FIXTURES, ...GENERATED_FIXTURES].filter((n) => !existsSync(fixturePath(n)));
  if (missing.length > 0) throw new Error(`scripts/fetch-fixtures.sh succeeded but fixtures are missing: ${missing.join(', ')}`);
}

// `tsx test/support/fixtures.ts --generate`: what the fetch script runs last.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv.includes('--generate')) {
  generateFixtures().catch((err: unknown) => {
    process.stderr.write(`fixtures: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
