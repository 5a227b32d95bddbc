/**
 * The engine that needs no model: it answers with what can be computed from the pixels
 * (format, size, orientation, dominant colours, brightness, and for several images where
 * they differ) and says plainly that recognising objects, reading text or captioning needs
 * a vision model. Nothing in its answers is invented; every number is measured here.
 */
import { compareImages, type ImageDifference } from '../vision/diff.js';
import { dominantColours, meanBrightness, type DominantColour } from '../vision/colors.js';
import { thumbnail } from '../vision/thumbnail.js';
import type { DecodedImage } from '../media/decode.js';
import { imagesOf, promptOf, type Engine, type EngineRequest } from '../seam/request.js';

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

export interface PairDifference extends ImageDifference {
  images: [number, number];
  identicalBytes: boolean;
}

export interface Measurements {
  images: ImageMeasurements[];
  differences: PairDifference[];
}

const GRID = 64;

export async function measureImages(images: Array<{ label: string; image: DecodedImage }>): Promise<Measurements> {
  const thumbs = await Promise.all(images.map(({ image }) => thumbnail(image, GRID, GRID)));
  const measured = images.map(({ label, image }, i) => ({
    index: i + 1,
    source: label,
    format: image.format,
    width: image.width,
    height: image.height,
    orientation: image.orientation,
    brightness: round(meanBrightness(thumbs[i]!)),
    dominantColours: dominantColours(thumbs[i]!).map((c) => ({ ...c, fraction: round(c.fraction) })),
  }));
  const differences: PairDifference[] = [];
  // Consecutive pairs: "what changed from image 1 to image 2 (to image 3…)".
  for (let i = 0; i + 1 < images.length; i++) {
    const d = compareImages(thumbs[i]!, thumbs[i + 1]!);
    differences.push({
      images: [i + 1, i + 2],
      identicalBytes: images[i]!.image.hash === images[i + 1]!.image.hash,
      changedFraction: round(d.changedFraction),
      meanDifference: round(d.meanDifference),
      regions: d.regions.slice(0, 8).map((r) => ({ ...r, area: round(r.area) })),
    });
  }
  return { images: measured, differences };
}

const round = (v: number) => Math.round(v * 1000) / 1000;
const pct = (v: number) => `${Math.round(v * 100)}%`;

const LIMITS_NOTE =
  'No vision model is installed in this Ocellus engine, so it cannot recognise objects, read text or caption; ' +
  'the figures above are measured from the pixels. Start the server with the offline vision models (the default, --engine vision; README, "What it answers") ' +
  'or route the request to a vision-language model to get captions, answers, detection and segmentation.';

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

function joinWords(items: string[]): string {
  if (items.length <= 1) return items[0] ?? 'none';
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export class MeasurementEngine implements Engine {
  readonly name = 'measurements';

  async *generate(request: EngineRequest): AsyncIterable<string> {
    const measurements = await measureImages(imagesOf(request));
    if (request.output.mimeType === 'application/json') {
      yield JSON.stringify({ ...measurements, note: LIMITS_NOTE });
      return;
    }
    const sentences = describeMeasurements(measurements, promptOf(request));
    for (const [i, s] of sentences.entries()) yield i === 0 ? s : ` ${s}`;
  }
}
