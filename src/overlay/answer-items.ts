/**
 * The boxes and masks inside a model answer, for drawing them over the image: the
 * playground (in the browser) and `ocellus ask --out` (in Node) both use this, so it has no
 * Node imports. Gemini writes detection answers as a JSON list, raw (responseMimeType
 * application/json) or inside a ```json fence after some prose; the guide's own parsing
 * code does the same search.
 */

/** One entry as Gemini writes it: `box_2d` is [ymin, xmin, ymax, xmax] in 0..1000. */
export interface AnswerItem {
  box_2d: [number, number, number, number];
  label: string;
  /** `data:image/png;base64,…` probability map of the box region (segmentation answers). */
  mask?: string;
  /** 1-based image index, present when the request had several images. */
  image?: number;
}

export interface PixelBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The JSON text of an answer: the whole text when it parses, else its first ```json fence, else its first […] span. */
export function jsonOfAnswer(text: string): unknown {
  const attempts = [text.trim()];
  const fence = /```(?:json)?\s*\n?([\s\S]*?)```/i.exec(text);
  if (fence?.[1]) attempts.push(fence[1].trim());
  const start = text.indexOf('[');
  const end = text.lastIndexOf(']');
  if (start >= 0 && end > start) attempts.push(text.slice(start, end + 1));
  for (const a of attempts) {
    try {
      return JSON.parse(a);
    } catch {
      /* try the next reading */
    }
  }
  return undefined;
}

const isBox = (v: unknown): v is [number, number, number, number] =>
  Array.isArray(v) && v.length === 4 && v.every((n) => typeof n === 'number' && Number.isFinite(n));

/** Every well-formed `box_2d` entry of the answer (a list, or an object holding one list); [] when none. */
export function itemsOfAnswer(text: string): AnswerItem[] {
  let value = jsonOfAnswer(text);
  if (value && !Array.isArray(value) && typeof value === 'object') {
    value = Object.values(value as Record<string, unknown>).find((v) => Array.isArray(v)) ?? [value];
  }
  if (!Array.isArray(value)) return [];
  return value.flatMap((v): AnswerItem[] => {
    if (!v || typeof v !== 'object') return [];
    const o = v as Record<string, unknown>;
    if (!isBox(o.box_2d)) return [];
    return [
      {
        box_2d: o.box_2d,
        label: typeof o.label === 'string' ? o.label : '',
        ...(typeof o.mask === 'string' && o.mask.startsWith('data:image/png;base64,') ? { mask: o.mask } : {}),
        ...(typeof o.image === 'number' ? { image: o.image } : {}),
      },
    ];
  });
}

/** `box_2d` (0..1000, y first) → pixel corners of a width×height image, clamped to it. */
export function box2dToPixels(box2d: readonly [number, number, number, number], width: number, height: number): PixelBox {
  const [ymin, xmin, ymax, xmax] = box2d;
  const clamp = (v: number, max: number) => Math.max(0, Math.min(max, v));
  return {
    x0: clamp(Math.round((Math.min(xmin, xmax) / 1000) * width), width),
    y0: clamp(Math.round((Math.min(ymin, ymax) / 1000) * height), height),
    x1: clamp(Math.round((Math.max(xmin, xmax) / 1000) * width), width),
    y1: clamp(Math.round((Math.max(ymin, ymax) / 1000) * height), height),
  };
}

/** A fixed palette, so the same label index gets the same colour in the browser and in PNGs. */
export const OVERLAY_COLOURS = ['#ff3b30', '#34c759', '#007aff', '#ff9500', '#af52de', '#00c7be', '#ffcc00', '#ff2d55'] as const;
