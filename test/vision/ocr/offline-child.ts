/**
 * Run by readers.test.ts in a network namespace with no network (`unshare -n`): loads both
 * readers from node_modules, reads one image, prints the texts as JSON. Any attempt to fetch
 * tesseract.js's core or language data from its CDN would fail here.
 */
import sharp from 'sharp';
import { PaddleReader, TesseractReader } from '../../../src/vision/ocr/index.js';

const file = process.argv[2];
if (!file) throw new Error('usage: offline-child.ts IMAGE');
const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
const img = { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
const tesseract = new TesseractReader();
const paddle = new PaddleReader();
const out = {
  tesseract: (await tesseract.read(img)).map((l) => l.text),
  paddle: (await paddle.read(img)).map((l) => l.text),
};
await Promise.all([tesseract.dispose(), paddle.dispose()]);
process.stdout.write(`${JSON.stringify(out)}\n`);
