/**
 * Labelled images as dataset files: COCO detection JSON (boxes in pixels [x, y, w, h],
 * masks as uncompressed RLE, categories) and YOLO txt (one file per image, `class cx cy w h`
 * normalised to 0..1, plus classes.txt). Pure: the caller decodes the answers' masks to
 * binary pixels first (maskPixels) and writes the files.
 *
 * The rules pycocotools relies on hold by construction: image, annotation and category ids
 * unique, every annotation's category exists, boxes clipped to the image with positive
 * area, RLE counts summing to height × width (column-major, starting with a zero run).
 */
import { box2dToPixels, type AnswerItem } from '../../overlay/answer-items.js';

export interface LabelledImage {
  /** The path as the dataset names it (relative, '/' separators). */
  fileName: string;
  width: number;
  height: number;
  items: AnswerItem[];
  /** Binary masks of `items` by index (full image size, row-major, 1 = inside), when the answer had masks. */
  masks?: Map<number, Uint8Array>;
}

export interface CocoRle {
  size: [number, number];
  counts: number[];
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: [number, number, number, number];
  area: number;
  iscrowd: 0;
  segmentation?: CocoRle;
}

export interface CocoDataset {
  info: { description: string; date_created: string };
  images: Array<{ id: number; file_name: string; width: number; height: number }>;
  annotations: CocoAnnotation[];
  categories: Array<{ id: number; name: string; supercategory: string }>;
}

/** Labels in a stable order (sorted), so class ids do not depend on which image came first. */
export function categoriesOf(images: readonly LabelledImage[]): string[] {
  return [...new Set(images.flatMap((i) => i.items.map((it) => labelOf(it))))].sort();
}

const labelOf = (it: AnswerItem) => it.label.trim() || 'object';

/** COCO's uncompressed RLE of a row-major binary mask: runs over the column-major order, first run of zeros. */
export function encodeRle(mask: Uint8Array, width: number, height: number): CocoRle {
  const counts: number[] = [];
  let current = 0;
  let run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const v = mask[y * width + x] ? 1 : 0;
      if (v !== current) {
        counts.push(run);
        run = 0;
        current = v;
      }
      run++;
    }
  }
  counts.push(run);
  return { size: [height, width], counts };
}

export function toCoco(images: readonly LabelledImage[], description: string, now = new Date()): CocoDataset {
  const names = categoriesOf(images);
  const categoryId = new Map(names.map((n, i) => [n, i + 1]));
  const annotations: CocoAnnotation[] = [];
  images.forEach((img, i) => {
    img.items.forEach((it, j) => {
      const b = box2dToPixels(it.box_2d, img.width, img.height);
      const w = b.x1 - b.x0;
      const h = b.y1 - b.y0;
      if (w <= 0 || h <= 0) return; // a degenerate box is no annotation
      const mask = img.masks?.get(j);
      const maskArea = mask ? mask.reduce((s, v) => s + (v ? 1 : 0), 0) : 0;
      annotations.push({
        id: annotations.length + 1,
        image_id: i + 1,
        category_id: categoryId.get(labelOf(it))!,
        bbox: [b.x0, b.y0, w, h],
        area: mask && maskArea > 0 ? maskArea : w * h,
        iscrowd: 0,
        ...(mask && maskArea > 0 ? { segmentation: encodeRle(mask, img.width, img.height) } : {}),
      });
    });
  });
  return {
    info: { description, date_created: now.toISOString() },
    images: images.map((img, i) => ({ id: i + 1, file_name: img.fileName, width: img.width, height: img.height })),
    annotations,
    categories: names.map((name, i) => ({ id: i + 1, name, supercategory: 'object' })),
  };
}

/** One YOLO label file: `class cx cy w h` per box, normalised, six decimals. */
export function toYoloLines(img: LabelledImage, classes: readonly string[]): string {
  const index = new Map(classes.map((c, i) => [c, i]));
  const lines: string[] = [];
  for (const it of img.items) {
    const b = box2dToPixels(it.box_2d, img.width, img.height);
    const w = b.x1 - b.x0;
    const h = b.y1 - b.y0;
    if (w <= 0 || h <= 0) continue;
    const f = (v: number) => v.toFixed(6);
    lines.push(`${index.get(labelOf(it))} ${f((b.x0 + w / 2) / img.width)} ${f((b.y0 + h / 2) / img.height)} ${f(w / img.width)} ${f(h / img.height)}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
