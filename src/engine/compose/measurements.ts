/**
 * The measurements-only answer (no vision model installed): what was measured from the
 * pixels, in sentences or as JSON, and plainly that recognising objects, reading text or
 * captioning needs a model. Every number comes from ../measure.ts; nothing is invented.
 */
import type { DominantColour } from '../../vision/colors.js';
import type { PairFacts } from './facts.js';

export interface ImageMeasurements {
  index: number;
  source: string;
  format: string;
  width: number;
  height: number;
  orientation: number;
  brightness: number;
  dominantColours: DominantColour[];
}

export interface Measurements {
  images: ImageMeasurements[];
  differences: PairFacts[];
}

export const LIMITS_NOTE =
  'No vision model is installed in this Ocellus engine, so it cannot recognise objects, read text or caption; ' +
  'the figures above are measured from the pixels. Start the server with the offline vision models (the default, --engine vision; README, "What it answers") ' +
  'or route the request to a vision-language model to get captions, answers, detection and segmentation.';

const pct = (v: number) => `${Math.round(v * 100)}%`;

export function describeMeasurements(m: Measurements, prompt: string): string[] {
  const sentences: string[] = [];
  if (m.images.length === 0) {
    sentences.push('There is no image in this request, and this engine answers only about images.');
  }
  for (const img of m.images) {
    const colours = img.dominantColours.map((c) => `${c.name} (${pct(c.fraction)})`);
    const light = img.brightness < 0.25 ? 'dark' : img.brightness > 0.7 ? 'bright' : 'of medium brightness';
    const turned = img.orientation !== 1 ? ` (turned upright from EXIF orientation ${img.orientation})` : '';
    const subject = m.images.length > 1 ? `Image ${img.index}` : 'The image';
    sentences.push(
      `${subject} is a ${img.width}×${img.height} ${img.format.toUpperCase()}${turned}, ${light}, ` +
        `whose main colours are ${joinWords(colours)}.`,
    );
  }
  for (const d of m.differences) {
    const [a, b] = d.images;
    if (d.identicalBytes) sentences.push(`Images ${a} and ${b} are the same file.`);
    else if (d.changedFraction === 0) sentences.push(`Images ${a} and ${b} look the same at pixel level (mean difference ${pct(d.meanDifference)}).`);
    else {
      const where = d.regions.slice(0, 3).map((r) => `[${r.box_2d.join(', ')}]`);
      sentences.push(
        `Images ${a} and ${b} differ in ${pct(d.changedFraction)} of their area` +
          (where.length ? `, mostly within box_2d ${joinWords(where)} (ymin, xmin, ymax, xmax on a 0–1000 scale).` : '.'),
      );
    }
  }
  if (m.images.length === 0) return sentences;
  if (prompt) sentences.push(`About "${truncate(prompt, 120)}": ${LIMITS_NOTE}`);
  else sentences.push(LIMITS_NOTE);
  return sentences;
}

/** The answer as text pieces (sentences) or, when JSON was asked for, the measurements themselves. */
export function renderMeasurements(m: Measurements, prompt: string, mimeType: string): string[] {
  if (mimeType === 'application/json') return [JSON.stringify({ ...m, note: LIMITS_NOTE })];
  return describeMeasurements(m, prompt).map((s, i) => (i === 0 ? s : ` ${s}`));
}

function joinWords(items: string[]): string {
  if (items.length <= 1) return items[0] ?? 'none';
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
