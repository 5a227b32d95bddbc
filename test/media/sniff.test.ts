import { describe, expect, it } from 'vitest';
import {
  SUPPORTED_FORMATS_TEXT,
  declaredMimeTypeMatches,
  formatLabel,
  formatOfMimeType,
  isSupportedFormat,
  mimeTypeOf,
  sniffImageFormat,
} from '../../src/media/sniff.js';
import { type FixtureName, readFixture } from '../support/fixtures.js';

/** An ISOBMFF ftyp box with the given brands, padded like a real file. */
function ftyp(major: string, ...compatible: string[]): Uint8Array {
  const size = 16 + 4 * compatible.length;
  const b = Buffer.alloc(size + 16);
  b.writeUInt32BE(size, 0);
  b.write('ftyp', 4, 'latin1');
  b.write(major, 8, 'latin1');
  compatible.forEach((c, i) => b.write(c, 16 + 4 * i, 'latin1'));
  b.write('meta', size + 4, 'latin1');
  return b;
}

describe('sniffImageFormat', () => {
  it.each<[FixtureName, string]>([
    ['dog.jpg', 'jpeg'],
    ['dog-exif6.jpg', 'jpeg'],
    ['dog-cmyk.jpg', 'jpeg'],
    ['dog.png', 'png'],
    ['dog.webp', 'webp'],
    ['dog.gif', 'gif'],
    ['dog.tiff', 'tiff'],
    ['dog.avif', 'avif'],
    ['dog.heic', 'heic'],
    ['dog-irot.heic', 'heic'],
    ['bomb.png', 'png'],
  ])('%s is %s', (name, format) => {
    expect(sniffImageFormat(readFixture(name))).toBe(format);
  });

  it.each([
    ['heic major', ftyp('heic', 'mif1', 'heic'), 'heic'],
    ['heix major', ftyp('heix', 'mif1'), 'heic'],
    ['hevc sequence', ftyp('hevc', 'msf1'), 'heic'],
    ['hevx sequence', ftyp('hevx'), 'heic'],
    ['mif1 alone', ftyp('mif1', 'mif1', 'miaf'), 'heif'],
    ['msf1 alone', ftyp('msf1', 'iso8'), 'heif'],
    ['heim', ftyp('heim', 'mif1'), 'heif'],
    ['heis', ftyp('heis', 'mif1'), 'heif'],
    ['mif1 + heic compatible', ftyp('mif1', 'mif1', 'heic'), 'heic'],
    ['mif1 + avif compatible', ftyp('mif1', 'mif1', 'avif', 'miaf'), 'avif'],
    ['avif major', ftyp('avif', 'mif1', 'miaf'), 'avif'],
    ['avis sequence', ftyp('avis', 'msf1'), 'avif'],
  ])('ISOBMFF brands: %s', (_name, bytes, format) => {
    expect(sniffImageFormat(bytes)).toBe(format);
  });

  it('recognises big-endian TIFF and BigTIFF', () => {
    expect(sniffImageFormat(Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8]))).toBe('tiff');
    expect(sniffImageFormat(Buffer.from([0x49, 0x49, 0x2b, 0x00, 8, 0, 0, 0]))).toBe('tiff');
  });

  it('recognises BMP by its DIB header (and calls it unsupported)', () => {
    const bmp = Buffer.alloc(54);
    bmp.write('BM', 0, 'latin1');
    bmp.writeUInt32LE(40, 14);
    expect(sniffImageFormat(bmp)).toBe('bmp');
    expect(isSupportedFormat('bmp')).toBe(false);
    // "BM" followed by text is not a BMP.
    expect(sniffImageFormat(Buffer.from('BMW is a car maker, not a bitmap'))).toBeNull();
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['two bytes of a JPEG', Buffer.from([0xff, 0xd8])],
    ['PDF', Buffer.from('%PDF-1.7\n%âãÏÓ\n')],
    ['SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')],
    ['MP4 video', ftyp('isom', 'isom', 'iso2', 'mp41')],
    ['QuickTime', ftyp('qt  ', 'qt  ')],
    ['text', Buffer.from('hello world, this is not an image')],
    ['RIFF but WAVE', Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ')],
  ])('returns null for %s', (_name, bytes) => {
    expect(sniffImageFormat(bytes)).toBeNull();
  });
});

describe('MIME types', () => {
  it('maps formats to canonical MIME types and back', () => {
    expect(mimeTypeOf('jpeg')).toBe('image/jpeg');
    expect(mimeTypeOf('heic')).toBe('image/heic');
    expect(mimeTypeOf('heif')).toBe('image/heif');
    expect(mimeTypeOf('avif')).toBe('image/avif');
    expect(mimeTypeOf('tiff')).toBe('image/tiff');
    expect(formatOfMimeType('image/jpg')).toBe('jpeg');
    expect(formatOfMimeType('Image/JPEG; charset=binary')).toBe('jpeg');
    expect(formatOfMimeType('image/heif')).toBe('heic');
    expect(formatOfMimeType('image/webp')).toBe('webp');
    expect(formatOfMimeType('application/pdf')).toBeNull();
  });

  it('lists the supported formats for messages', () => {
    expect(SUPPORTED_FORMATS_TEXT).toBe('PNG, JPEG, WEBP, HEIC, HEIF, GIF, AVIF, TIFF');
    expect(formatLabel('jpeg')).toBe('JPEG');
  });

  it.each([
    ['image/jpeg', 'jpeg', true],
    ['image/jpg', 'jpeg', true],
    ['IMAGE/JPEG', 'jpeg', true],
    ['image/jpeg; q=1', 'jpeg', true],
    ['image/png', 'jpeg', false],
    ['image/webp', 'png', false],
    ['image/heic', 'heif', true],
    ['image/heif', 'heic', true],
    ['image/heif', 'avif', true],
    ['image/heic', 'avif', false],
    ['image/avif', 'heic', false],
    ['image/tiff', 'tiff', true],
    ['text/plain', 'png', false],
    ['application/octet-stream', 'png', true],
    ['', 'png', true],
    [undefined, 'gif', true],
  ] as const)('declared %s vs %s bytes → %s', (declared, format, ok) => {
    expect(declaredMimeTypeMatches(declared, format)).toBe(ok);
  });
});
