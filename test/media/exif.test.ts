import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { composeAnswer } from '../../src/engine/compose/answer.js';
import { inspectImage } from '../../src/media/decode.js';
import { cameraFacts } from '../../src/media/exif.js';
import { readFixture } from '../support/fixtures.js';

const withExif = (exif: Record<string, Record<string, string>>) => sharp(readFixture('dog.jpg')).withExif(exif).jpeg().toBuffer();

describe('camera facts from EXIF', () => {
  it('reads make, model and time from a JPEG and carries them in the image info', async () => {
    const jpeg = await withExif({ IFD0: { Make: 'Canon', Model: 'Canon EOS 5D', DateTime: '2019:05:01 10:20:30' } });
    const info = await inspectImage(jpeg, { partLabel: 't', maxPixels: 1e8 });
    expect(info.camera).toEqual({ make: 'Canon', model: 'Canon EOS 5D', taken: '2019-05-01T10:20:30' });
  });

  it('has no facts for a photo without EXIF, and none (not an error) for a broken block', async () => {
    expect((await inspectImage(readFixture('dog.png'), { partLabel: 't', maxPixels: 1e8 })).camera).toBeUndefined();
    expect(cameraFacts(Buffer.from('Exif\0\0garbage that is not TIFF'))).toBeUndefined();
  });

  it('a detailed caption says what camera took the photo and when', () => {
    const a = composeAnswer(
      { lang: 'en', task: { kind: 'caption', detail: 'detailed' }, json: false },
      {
        images: [
          {
            index: 1,
            width: 768,
            height: 576,
            format: 'jpeg',
            objects: [],
            colours: [{ name: 'grey', hex: '#808080', fraction: 1 }],
            brightness: 0.5,
            hash: 'h',
            camera: { make: 'Canon', model: 'Canon EOS 5D', taken: '2019-05-01T10:20:30' },
          },
        ],
        differences: [],
      },
    );
    expect(a.sentences).toContain('It was taken with a Canon EOS 5D on 2019-05-01 10:20:30.');
  });
});

describe("dog.jpg's own EXIF (a real camera file)", () => {
  it('names the camera and the time it was taken', async () => {
    const info = await inspectImage(readFixture('dog.jpg'), { partLabel: 't', maxPixels: 1e8 });
    expect(info.camera).toMatchObject({ make: 'Canon', model: 'Canon PowerShot S95', taken: '2014-09-19T16:08:30' });
  });
});
