/**
 * Captions of images that are mostly text: a scanned or photographed page says it is a
 * page and gives its first line, instead of listing (or failing to find) objects.
 */
import type { Lang } from '../language.js';
import type { ImageFacts } from './facts.js';
import { summariseText } from '../../vision/ocr/summary.js';
import { say } from './phrases.js';

/** Longest heading quoted in a caption; longer first lines are cut with an ellipsis. */
const HEADING_CHARS = 80;

/**
 * Mostly text: the image measured like a page and the reader found lines in it, or (when
 * the reader ran for another reason) its lines cover a good part of the image and few
 * objects compete with them. Lines are summarised the way the readers summarise them.
 */
export function isTextPage(img: ImageFacts): boolean {
  const text = summariseText(img.text ?? []);
  if (text.lineCount < 2) return false;
  if (img.textPage) return true;
  const area = (b: [number, number, number, number]) => Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
  const objectArea = img.objects.filter((o) => o.label !== 'book').reduce((s, o) => s + area(o.box), 0);
  return text.lineCount >= 4 && text.area >= 0.2 && objectArea < 0.3;
}

/** The caption's opening sentence for a page of text, or nothing when the image is not one. */
export function textPageSentences(img: ImageFacts, lang: Lang, _detail: 'short' | 'detailed'): string[] {
  if (!isTextPage(img)) return [];
  const { firstLine = '', lineCount } = summariseText(img.text ?? []);
  const text = firstLine.trim();
  const heading = [...text].length > HEADING_CHARS ? `${[...text].slice(0, HEADING_CHARS - 1).join('')}…` : text;
  return [say.textPage(heading, lineCount, lang)];
}
