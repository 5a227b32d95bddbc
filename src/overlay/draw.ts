/**
 * The pure half of drawing an answer over its image: where each box goes, the SVG of the
 * box outlines and labels, and the RGBA tint of a mask inside its box. No image library
 * and no Node imports, so it is testable pixel by pixel and usable in the browser; the
 * PNG is assembled by src/cli/overlay-png.ts.
 */
import { box2dToPixels, OVERLAY_COLOURS, type AnswerItem, type PixelBox } from './answer-items.js';

/** Box outline width in pixels; the stroke lies inside the box so its edge pixels are exact. */
export const BOX_STROKE = 3;
/** Opacity of a mask's fill; its outline is opaque. */
export const MASK_ALPHA = 0.45;
const LABEL_FONT_PX = 14;
const LABEL_HEIGHT = 18;

export interface OverlayShape {
  box: PixelBox;
  label: string;
  colour: string;
  mask?: string;
}

/** Items of the answer that belong to image `imageIndex` (1-based; items without an index belong to the first). */
export function itemsForImage(items: readonly AnswerItem[], imageIndex = 1): AnswerItem[] {
  return items.filter((i) => (i.image ?? 1) === imageIndex);
}

/** Pixel boxes and colours, one colour per item index as the playground assigns them. */
export function layoutShapes(items: readonly AnswerItem[], width: number, height: number): OverlayShape[] {
  return items.map((item, i) => ({
    box: box2dToPixels(item.box_2d, width, height),
    label: item.label,
    colour: OVERLAY_COLOURS[i % OVERLAY_COLOURS.length] ?? '#ff3b30',
    ...(item.mask ? { mask: item.mask } : {}),
  }));
}

export function hexToRgb(hex: string): [number, number, number] {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

const escapeXml = (s: string) =>
  s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c);

/** Where a box's label sits: above the box when there is room, else just inside its top. */
export function labelRect(box: PixelBox, label: string, width: number): { x: number; y: number; w: number; h: number } {
  // An estimate of the text's advance (librsvg measures the real one): 0.6 em per character.
  const w = Math.min(width - box.x0, Math.ceil(label.length * LABEL_FONT_PX * 0.6) + 8);
  const y = box.y0 >= LABEL_HEIGHT ? box.y0 - LABEL_HEIGHT : box.y0;
  return { x: box.x0, y, w: Math.max(0, w), h: LABEL_HEIGHT };
}

/**
 * One SVG the size of the image: each box as a BOX_STROKE-wide outline drawn inside the box
 * (crisp edges, so its pixels are the colour exactly), and its label as white text on the
 * box's colour. Boxes too small to outline are drawn filled.
 */
export function boxesSvg(shapes: readonly OverlayShape[], width: number, height: number): string {
  const half = BOX_STROKE / 2;
  const body = shapes.map(({ box, label, colour }) => {
    const w = box.x1 - box.x0;
    const h = box.y1 - box.y0;
    const rect =
      w > BOX_STROKE && h > BOX_STROKE
        ? `<rect x="${box.x0 + half}" y="${box.y0 + half}" width="${w - BOX_STROKE}" height="${h - BOX_STROKE}" fill="none" stroke="${colour}" stroke-width="${BOX_STROKE}"/>`
        : `<rect x="${box.x0}" y="${box.y0}" width="${Math.max(1, w)}" height="${Math.max(1, h)}" fill="${colour}"/>`;
    if (!label) return rect;
    const l = labelRect(box, label, width);
    return (
      rect +
      `<rect x="${l.x}" y="${l.y}" width="${l.w}" height="${l.h}" fill="${colour}"/>` +
      `<text x="${l.x + 4}" y="${l.y + l.h - 4}" font-family="sans-serif" font-size="${LABEL_FONT_PX}" fill="#ffffff">${escapeXml(label)}</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" shape-rendering="crispEdges">${body.join('')}</svg>`;
}

export interface GreyImage {
  data: Uint8Array;
  width: number;
  height: number;
  /** Bytes per pixel of `data` (the first is read); 1 for plain grey. */
  channels?: number;
}

export interface RgbaLayer {
  data: Uint8Array;
  width: number;
  height: number;
}

/** The mask's value at box pixel (x, y), sampled bilinearly (the guide resizes masks into the box the same way). */
function sampler(mask: GreyImage, boxW: number, boxH: number): (x: number, y: number) => number {
  const ch = mask.channels ?? 1;
  const at = (mx: number, my: number) => mask.data[(my * mask.width + mx) * ch] ?? 0;
  const sx = mask.width / boxW;
  const sy = mask.height / boxH;
  return (x, y) => {
    const fx = Math.max(0, Math.min(mask.width - 1, (x + 0.5) * sx - 0.5));
    const fy = Math.max(0, Math.min(mask.height - 1, (y + 0.5) * sy - 0.5));
    const x0 = Math.floor(fx);
    const y0 = Math.floor(fy);
    const x1 = Math.min(mask.width - 1, x0 + 1);
    const y1 = Math.min(mask.height - 1, y0 + 1);
    const tx = fx - x0;
    const ty = fy - y0;
    const top = at(x0, y0) * (1 - tx) + at(x1, y0) * tx;
    const bottom = at(x0, y1) * (1 - tx) + at(x1, y1) * tx;
    return top * (1 - ty) + bottom * ty;
  };
}

/**
 * The mask resized into its box as an RGBA layer of the box's size: pixels whose
 * probability is over 127 get the colour at MASK_ALPHA, the ones on the mask's border
 * (an inside pixel with an outside 4-neighbour, or at the box edge) get it opaque as the
 * outline, the rest stay transparent.
 */
export function maskLayer(mask: GreyImage, box: PixelBox, colour: string): RgbaLayer {
  const width = box.x1 - box.x0;
  const height = box.y1 - box.y0;
  const data = new Uint8Array(Math.max(0, width * height * 4));
  if (width <= 0 || height <= 0 || mask.width <= 0 || mask.height <= 0) return { data, width: Math.max(0, width), height: Math.max(0, height) };
  const value = sampler(mask, width, height);
  const inside = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) inside[y * width + x] = value(x, y) > 127 ? 1 : 0;
  const isIn = (x: number, y: number) => x >= 0 && y >= 0 && x < width && y < height && inside[y * width + x] === 1;
  const [r, g, b] = hexToRgb(colour);
  const fill = Math.round(MASK_ALPHA * 255);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      if (!isIn(x, y)) continue;
      const edge = !isIn(x - 1, y) || !isIn(x + 1, y) || !isIn(x, y - 1) || !isIn(x, y + 1);
      const o = (y * width + x) * 4;
      data[o] = r;
      data[o + 1] = g;
      data[o + 2] = b;
      data[o + 3] = edge ? 255 : fill;
    }
  return { data, width, height };
}
