/**
 * Questions answered as asked, through the real server on real photos with the default
 * settings: yes/no answers lead with Yes/No and name their evidence, categories get one
 * answer, counts equal the detection list, a detector's doubt is said rather than turned
 * into a confident wrong answer, and a page of text is captioned as one.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evalPhotoPath, readFixture } from '../support/fixtures.js';
import { startServer, type RunningServer } from '../support/server.js';

let s: RunningServer;
beforeAll(async () => {
  s = await startServer();
}, 180_000);
afterAll(() => s?.stop());

type Photo = 'dog.jpg' | 'person.jpg' | 'chelsea.png' | 'motorcycle_left.png' | 'page.png';
const bytes = (name: Photo): Buffer => (name === 'dog.jpg' || name === 'person.jpg' ? readFixture(name) : readFileSync(evalPhotoPath(name, 'python3-skimage')));
const mime = (name: Photo | Buffer) => (Buffer.isBuffer(name) || name.endsWith('.png') ? 'image/png' : 'image/jpeg');

async function ask(photo: Photo | Buffer, prompt: string): Promise<string> {
  const data = (Buffer.isBuffer(photo) ? photo : bytes(photo)).toString('base64');
  const res = await fetch(`${s.baseUrl}/v1beta/models/gemini-2.5-flash:generateContent`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ contents: [{ parts: [{ inlineData: { mimeType: mime(photo), data } }, { text: prompt }] }] }),
  });
  const body = (await res.json()) as { candidates?: Array<{ content: { parts: Array<{ text: string }> } }> };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.candidates![0]!.content.parts.map((p) => p.text).join('');
}

/** One sentence: a single terminal full stop (English) or 。 (Chinese). */
const oneSentence = (text: string) => (text.match(/[.。](\s|$)/g) ?? []).length === 1;

describe('yes/no questions on real photos', () => {
  it('dog.jpg: Yes/No first, with the evidence, one sentence each', async () => {
    const dog = await ask('dog.jpg', 'Is there a dog in this image?');
    expect(dog).toMatch(/^Yes — (probably )?a dog, at the left\.$/);
    const cat = await ask('dog.jpg', 'Is there a cat in this image?');
    expect(cat).toMatch(/^No\b/);
    expect(cat).toContain('dog');
    const vehicle = await ask('dog.jpg', 'Is there a vehicle in this picture?');
    expect(vehicle).toMatch(/^Yes — /);
    expect(vehicle).toMatch(/bicycle/);
    expect(oneSentence(vehicle), vehicle).toBe(true);
    expect(await ask('dog.jpg', 'Is the dog on the left?')).toMatch(/^Yes — the dog is at the left\.$/);
    expect(await ask('dog.jpg', '图中有自行车吗？')).toMatch(/^有，/);
    expect(await ask('dog.jpg', 'Is there a unicorn?')).toMatch(/^I can't tell whether there is a unicorn: /);
  });

  it('person.jpg: counts compared as asked, in English and Chinese', async () => {
    expect(await ask('person.jpg', 'Are there more than two people?')).toMatch(/^No — I count one person\./);
    expect(await ask('person.jpg', 'Is there a person?')).toMatch(/^Yes — (probably )?a person, /);
    expect(await ask('person.jpg', '這張照片裡有人嗎？')).toMatch(/^有，/);
  });

  it('motorcycle_left.png: a category question gets one answer naming the motorcycle', async () => {
    const text = await ask('motorcycle_left.png', 'Is there a vehicle in this picture?');
    expect(text).toMatch(/^Yes — (probably )?a motorcycle, /);
    expect(oneSentence(text), text).toBe(true);
  });

  it('chelsea.png (a cat): an animal is answered; the cat is named, or the doubt is said', async () => {
    expect(await ask('chelsea.png', 'Is this a photo of an animal?')).toMatch(/^Yes — (probably )?an? (cat|dog)\b/);
    const caption = await ask('chelsea.png', 'Caption this image.');
    const cat = await ask('chelsea.png', 'Is there a cat in this image?');
    if (/\bcat\b/.test(caption)) expect(cat).toMatch(/^Yes — (probably )?a cat/);
    // A detector that sees a dog here must not deny the cat outright.
    else expect(cat).toMatch(/^(Possibly|No, probably not)\b/);
  });
});

describe('one analysis, one policy', () => {
  it('counts equal the boxes the detection answer gives (dog.jpg, person.jpg)', async () => {
    for (const [photo, label, plural] of [
      ['dog.jpg', 'dog', 'dogs'],
      ['dog.jpg', 'bicycle', 'bicycles'],
      ['person.jpg', 'person', 'people'],
    ] as const) {
      const boxes = await ask(photo, 'Detect all of the prominent items in the image.');
      const json = JSON.parse(boxes.slice(boxes.indexOf('['), boxes.lastIndexOf(']') + 1)) as Array<{ label: string }>;
      const detected = json.filter((b) => b.label === label).length;
      const count = await ask(photo, `How many ${plural} are there in this image?`);
      const words = ['no', 'a', 'two', 'three', 'four', 'five'];
      const stated = words.indexOf(/^(?:There (?:is|are) |I see )(\w+)/.exec(count)?.[1] ?? '');
      expect(stated, `${photo} ${label}: "${count}" vs ${detected} boxes`).toBe(detected);
    }
  });
});

describe('captions of pages of text', () => {
  it('page.png: says it is a page and gives its first line, in English and Chinese', async () => {
    expect(await ask('page.png', 'Caption this image.')).toMatch(/^A page of text headed "Region-based segmentation" \(\d+ lines\)\.$/);
    expect(await ask('page.png', '描述這張圖片')).toMatch(/^一頁文字，標題是「Region-based segmentation」/);
  });

  it('a Chinese page (rendered in the CJK font the fixtures install) is captioned as a page too', async () => {
    const lines = ['影像理解伺服器', '這台伺服器在本機上回答關於圖片的問題', '它使用離線模型偵測物體和讀取文字', '所有的答案都來自模型或像素的測量'];
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="420"><rect width="100%" height="100%" fill="white"/>${lines
      .map((l, i) => `<text x="40" y="${70 + i * 90}" font-family="WenQuanYi Zen Hei" font-size="${i === 0 ? 44 : 36}" fill="black">${l}</text>`)
      .join('')}</svg>`;
    const page = await sharp(Buffer.from(svg)).png().toBuffer();
    expect(await ask(page, '描述這張圖片')).toMatch(/^一頁文字，標題是「影像理解/);
    expect(await ask(page, 'Caption this image.')).toMatch(/^A page of text headed "影像理解/);
  });

  it('a photo is not read for its caption', async () => {
    const caption = await ask('dog.jpg', 'Caption this image.');
    expect(caption).toMatch(/^A photo of /);
    expect(caption).not.toMatch(/page of text|text reads/);
  });
});
