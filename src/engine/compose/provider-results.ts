/**
 * Answers from what a typed provider returned (boxes, masks, text, label scores), written
 * the way Gemini writes them whichever model produced the results: `box_2d` is always
 * 0..1000 [ymin, xmin, ymax, xmax], text and labels in the plan's language. The offline
 * engine's own answers are written by ./answer.ts; both go out through ./render.ts.
 */
import type { FoundMask, FoundObject, LabelScore } from '../../seam/provider.js';
import type { ReadLine } from '../../vision/analysis.js';
import type { Lang } from '../language.js';
import { toBox2d, type Answer } from './answer.js';

/** Detection or segmentation results; `many` numbers the images (1-based) when there are several. */
export function boxAnswer(found: Array<FoundObject | FoundMask>, many: boolean): Answer {
  const data = found.map((o) => ({
    box_2d: toBox2d(o.box),
    ...('png' in o ? { mask: o.png } : {}),
    label: o.label,
    ...(many ? { image: o.image + 1 } : {}),
  }));
  return { sentences: [], data, dataIsAnswer: true };
}

/** The text of each image, in request order. */
export function textAnswer(perImage: Array<ReadLine[] | string>, lang: Lang): Answer {
  const texts = perImage.map((t) => (typeof t === 'string' ? t : t.map((l) => l.text).join('\n')).trim());
  const none = lang === 'en' ? 'No text was found.' : lang === 'zh-Hans' ? '没有找到文字。' : '沒有找到文字。';
  const body =
    texts.length === 1
      ? texts[0] || none
      : texts.map((t, i) => `${lang === 'en' ? `Image ${i + 1}` : `圖片 ${i + 1}`}:\n${t || none}`).join('\n\n');
  return { sentences: [body], data: { text: texts.length === 1 ? texts[0] : texts } };
}

/** The best-scoring label of each image, with every score as the data. */
export function classAnswer(perImage: LabelScore[][], lang: Lang): Answer {
  const best = perImage.map((scores) => scores.slice().sort((a, b) => b.score - a.score)[0]);
  const sentence = (l: LabelScore | undefined, i: number) => {
    const prefix = perImage.length > 1 ? (lang === 'en' ? `Image ${i + 1}: ` : `圖片 ${i + 1}:`) : '';
    if (!l) return prefix + (lang === 'en' ? 'No label fits.' : '沒有合適的標籤。');
    return prefix + (lang === 'en' ? `It is ${/^[aeiou]/i.test(l.label) ? 'an' : 'a'} ${l.label}.` : `這是${l.label}。`);
  };
  return {
    sentences: best.map(sentence),
    data: perImage.length === 1 ? (perImage[0] ?? []) : perImage,
  };
}
