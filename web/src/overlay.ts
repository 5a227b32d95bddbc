/**
 * What to draw over the images for an answer, and the drawing itself (a canvas laid over
 * each preview, in the preview's own pixels).
 *
 * - Detection: `[{box_2d, label}]` → labelled boxes.
 * - Segmentation: `[{box_2d, mask, label}]` → the mask (8-bit probability PNG of the box
 *   region, scaled to the box as the Gemini guide's code does, then thresholded at 127) as
 *   a translucent fill with an opaque outline, plus a thin box.
 * - Compare: `[{images:[a,b], changed_regions:[{box_2d}]}]` → highlighted regions on both
 *   images of the pair.
 * - Entries with an `image` field (1-based) go to that image; the others to the first.
 *
 * Parsing the answer is the shared src/overlay/answer-items.ts (the same rules `ocellus ask
 * --out` draws with); only the compare shape is read here.
 */
import { OVERLAY_COLOURS, box2dToPixels, itemsOfAnswer, jsonOfAnswer, type PixelBox } from '../../src/overlay/answer-items.js';

export type Box2d = [number, number, number, number];

export interface OverlayItem {
  /** Position in the answer's list; links a drawn shape to its JSON entry. */
  index: number;
  /** 0-based image the item is drawn on. */
  image: number;
  box: Box2d;
  label: string;
  kind: 'box' | 'mask' | 'region';
  mask?: string;
  colour: string;
  /** The entry as shown in the JSON list (masks shortened there, not here). */
  entry: Record<string, unknown>;
}

const isBox = (v: unknown): v is Box2d => Array.isArray(v) && v.length === 4 && v.every((n) => typeof n === 'number' && Number.isFinite(n));

/** Every drawable item of an answer text; [] when it holds none (a caption, prose). */
export function overlayItemsOf(text: string, imageCount: number): OverlayItem[] {
  const colourOf = colourPicker();
  const clampImage = (i: number) => Math.min(Math.max(0, i), Math.max(0, imageCount - 1));
  const items: OverlayItem[] = [];

  for (const it of itemsOfAnswer(text)) {
    const label = it.label || textOf(it.box_2d, text) || '';
    const entry: Record<string, unknown> = { box_2d: it.box_2d, label, ...(it.mask ? { mask: it.mask } : {}), ...(it.image !== undefined ? { image: it.image } : {}) };
    items.push({
      index: items.length,
      image: clampImage((it.image ?? 1) - 1),
      box: it.box_2d,
      label,
      kind: it.mask ? 'mask' : 'box',
      ...(it.mask ? { mask: it.mask } : {}),
      colour: colourOf(label),
      entry,
    });
  }
  if (items.length) return items;

  // Compare answers: one entry per pair of images, its changed regions nested.
  const value = jsonOfAnswer(text);
  if (!Array.isArray(value)) return [];
  for (const d of value) {
    if (!d || typeof d !== 'object') continue;
    const { images, changed_regions: regions } = d as { images?: unknown; changed_regions?: unknown };
    if (!Array.isArray(images) || !Array.isArray(regions)) continue;
    const pair = images.filter((n): n is number => typeof n === 'number');
    const label = `changed (${pair.join('↔')})`;
    for (const r of regions) {
      const box = (r as { box_2d?: unknown } | null)?.box_2d;
      if (!isBox(box)) continue;
      for (const n of pair)
        items.push({ index: items.length, image: clampImage(n - 1), box, label, kind: 'region', colour: colourOf('changed'), entry: { images: pair, box_2d: box } });
    }
  }
  return items;
}

/** Text-reading answers label their boxes with `text`, which the shared parser does not keep. */
function textOf(box: Box2d, answer: string): string | undefined {
  const value = jsonOfAnswer(answer);
  const list = Array.isArray(value) ? value : value && typeof value === 'object' ? Object.values(value).find(Array.isArray) : undefined;
  if (!Array.isArray(list)) return undefined;
  const hit = list.find((e) => e && typeof e === 'object' && JSON.stringify((e as { box_2d?: unknown }).box_2d) === JSON.stringify(box));
  const t = (hit as { text?: unknown } | undefined)?.text;
  return typeof t === 'string' ? t : undefined;
}

/** The same label keeps its colour within an answer: the palette in order of first appearance. */
function colourPicker(): (label: string) => string {
  const seen = new Map<string, string>();
  return (label) => {
    let c = seen.get(label);
    if (!c) {
      c = OVERLAY_COLOURS[seen.size % OVERLAY_COLOURS.length]!;
      seen.set(label, c);
    }
    return c;
  };
}

/** Line width in preview pixels: visible on small and large previews alike. */
export const lineWidthFor = (width: number, height: number): number => Math.max(2, Math.round(Math.max(width, height) / 300));

export const pixelBox = (item: OverlayItem, canvas: { width: number; height: number }): PixelBox => box2dToPixels(item.box, canvas.width, canvas.height);

function rgb(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** Opacity of a mask's fill (0..255): the photo stays readable under it. */
const MASK_FILL_ALPHA = 110;

/**
 * The mask of a segmentation item as a box-sized RGBA canvas: translucent inside, opaque on
 * its edge. Made once per answer (decoding the PNG is async), drawn at every redraw.
 */
export async function renderMask(item: OverlayItem, canvasSize: { width: number; height: number }): Promise<HTMLCanvasElement | undefined> {
  if (!item.mask) return undefined;
  const b = pixelBox(item, canvasSize);
  const w = b.x1 - b.x0;
  const h = b.y1 - b.y0;
  if (w <= 0 || h <= 0) return undefined;
  const img = new Image();
  img.src = item.mask;
  await img.decode();
  const out = document.createElement('canvas');
  out.width = w;
  out.height = h;
  const ctx = out.getContext('2d', { willReadFrequently: true })!;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'medium';
  ctx.drawImage(img, 0, 0, w, h);
  const data = ctx.getImageData(0, 0, w, h);
  const px = data.data;
  const on = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) on[i] = px[i * 4]! > 127 ? 1 : 0;
  const [r, g, bl] = rgb(item.colour);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const o = i * 4;
      if (!on[i]) {
        px[o + 3] = 0;
        continue;
      }
      const edge = x === 0 || y === 0 || x === w - 1 || y === h - 1 || !on[i - 1] || !on[i + 1] || !on[i - w] || !on[i + w];
      px[o] = r;
      px[o + 1] = g;
      px[o + 2] = bl;
      px[o + 3] = edge ? 255 : MASK_FILL_ALPHA;
    }
  ctx.putImageData(data, 0, 0);
  return out;
}

/**
 * Draws the items of one image. `active` (an item index) is drawn thicker and the others
 * faded, so the shape of a hovered JSON entry stands out.
 */
export function drawOverlay(
  canvas: HTMLCanvasElement,
  items: OverlayItem[],
  masks: ReadonlyMap<number, HTMLCanvasElement>,
  active: number | null,
): void {
  const ctx = canvas.getContext('2d')!;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const lw = lineWidthFor(canvas.width, canvas.height);
  // The active item last, so it is on top.
  const ordered = [...items].sort((a, b) => Number(a.index === active) - Number(b.index === active));
  for (const item of ordered) {
    const b = pixelBox(item, canvas);
    const isActive = item.index === active;
    ctx.globalAlpha = active === null || isActive ? 1 : 0.35;
    const mask = masks.get(item.index);
    if (mask) ctx.drawImage(mask, b.x0, b.y0);
    if (item.kind === 'region') {
      ctx.fillStyle = `${item.colour}44`;
      ctx.fillRect(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0);
      ctx.setLineDash([lw * 3, lw * 2]);
    }
    ctx.strokeStyle = item.colour;
    ctx.lineWidth = (item.kind === 'mask' ? Math.max(1, lw / 2) : lw) * (isActive ? 2 : 1);
    ctx.strokeRect(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0);
    ctx.setLineDash([]);
    drawLabel(ctx, item, b, lw);
  }
  ctx.globalAlpha = 1;
}

function drawLabel(ctx: CanvasRenderingContext2D, item: OverlayItem, b: PixelBox, lw: number): void {
  if (!item.label) return;
  const size = Math.max(12, lw * 5);
  ctx.font = `600 ${size}px system-ui, sans-serif`;
  const pad = Math.round(size / 4);
  const w = Math.ceil(ctx.measureText(item.label).width) + pad * 2;
  const h = size + pad * 2;
  // Above the box when there is room, else just inside its top edge.
  const y = b.y0 - h >= 0 ? b.y0 - h : b.y0;
  const x = Math.min(b.x0, Math.max(0, ctx.canvas.width - w));
  ctx.fillStyle = item.colour;
  ctx.fillRect(x, y, w, h);
  ctx.fillStyle = '#fff';
  ctx.textBaseline = 'top';
  ctx.fillText(item.label, x + pad, y + pad);
}

/** The item under a point of one image (preview pixels): the smallest box holding it. */
export function itemAt(items: OverlayItem[], image: number, x: number, y: number, canvas: { width: number; height: number }): OverlayItem | undefined {
  let best: OverlayItem | undefined;
  let bestArea = Infinity;
  for (const item of items) {
    if (item.image !== image) continue;
    const b = pixelBox(item, canvas);
    if (x < b.x0 || x > b.x1 || y < b.y0 || y > b.y1) continue;
    const area = (b.x1 - b.x0) * (b.y1 - b.y0);
    if (area < bestArea) {
      best = item;
      bestArea = area;
    }
  }
  return best;
}

/** An entry as shown in the list: the mask's base64 shortened, everything else as sent. */
export function entryText(item: OverlayItem): string {
  return JSON.stringify(item.entry, (key, v: unknown) =>
    key === 'mask' && typeof v === 'string' ? `${v.slice(0, 40)}… (${v.length} characters)` : v,
  );
}
