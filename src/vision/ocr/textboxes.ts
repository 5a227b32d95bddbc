/**
 * PP-OCR detection post-processing in plain TypeScript: binary text map → rotated boxes →
 * upright line crops. It replaces `@gutenye/ocr-common/splitIntoLineImages`, which does the
 * same with opencv.js and js-clipper but never frees the cropped `cv.Mat`s (opencv.js's wasm
 * heap grew 134 → 268 MB within ~140 calls here, and keeps growing until it aborts) and
 * keeps opencv.js's 134 MB heap resident. The steps match it:
 *
 *  1. connected components of the map (8-connected, like `cv.findContours`' outer contours;
 *     holes are ignored instead of becoming boxes of their own);
 *  2. minimum-area rotated rectangle of each (`cv.minAreaRect`: rotating calipers on the
 *     convex hull of pixel centres); drop it if its short side < 3 px;
 *  3. "unclip": PaddleOCR grows the polygon by area × 1.5 / perimeter with round joins; for a
 *     rectangle the bounding rectangle of that is the rectangle grown by the distance on
 *     every side, so no polygon clipper is needed; drop it if the short side < 5 px;
 *  4. corners ordered top-left, top-right, bottom-right, bottom-left, clamped to the image
 *     and rounded; drop boxes 3 px or less across;
 *  5. crop: the quad mapped onto an upright w × h rectangle (bilinear, edge pixels repeated);
 *     crops at least 1.5× taller than wide are vertical text and turn 90° anticlockwise.
 */

export type Pt = [number, number];
export type Quad = [Pt, Pt, Pt, Pt];

export interface Rgba {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface RotatedRect {
  cx: number;
  cy: number;
  /** Side along `angle`. */
  w: number;
  /** Side across it. */
  h: number;
  /** Radians: direction of the `w` side. */
  angle: number;
}

/**
 * 8-connected components of the non-zero pixels of a one-byte-per-pixel mask. Each is
 * returned as the left-most and right-most pixel of every row it spans: enough for its
 * convex hull, far fewer points than the whole outline.
 */
export function componentExtremes(mask: Uint8Array, width: number, height: number): Pt[][] {
  const label = new Int32Array(width * height).fill(-1);
  const stack: number[] = [];
  const out: Pt[][] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || label[start] !== -1) continue;
    const id = out.length;
    const minX = new Map<number, number>();
    const maxX = new Map<number, number>();
    label[start] = id;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop()!;
      const x = p % width;
      const y = (p - x) / width;
      const lo = minX.get(y);
      if (lo === undefined || x < lo) minX.set(y, x);
      const hi = maxX.get(y);
      if (hi === undefined || x > hi) maxX.set(y, x);
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if ((dx === 0 && dy === 0) || nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (mask[q] && label[q] === -1) {
            label[q] = id;
            stack.push(q);
          }
        }
      }
    }
    const pts: Pt[] = [];
    for (const [y, lo] of minX) {
      pts.push([lo, y]);
      const hi = maxX.get(y)!;
      if (hi !== lo) pts.push([hi, y]);
    }
    out.push(pts);
  }
  return out;
}

/** Convex hull (Andrew's monotone chain); collinear points dropped. */
export function convexHull(points: readonly Pt[]): Pt[] {
  const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length <= 2) return pts;
  const cross = (o: Pt, a: Pt, b: Pt): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: Pt[] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Pt[] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0) upper.pop();
    upper.push(p);
  }
  lower.pop();
  upper.pop();
  return lower.concat(upper);
}

/** Minimum-area enclosing rectangle of a point set (rotating calipers over hull edges). */
export function minAreaRect(points: readonly Pt[]): RotatedRect {
  const hull = convexHull(points);
  if (hull.length === 0) return { cx: 0, cy: 0, w: 0, h: 0, angle: 0 };
  if (hull.length === 1) return { cx: hull[0]![0], cy: hull[0]![1], w: 0, h: 0, angle: 0 };
  let best: RotatedRect | undefined;
  let bestArea = Infinity;
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i]!;
    const b = hull[(i + 1) % hull.length]!;
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
    if (len === 0) continue;
    const ux = (b[0] - a[0]) / len;
    const uy = (b[1] - a[1]) / len;
    let minU = Infinity;
    let maxU = -Infinity;
    let minV = Infinity;
    let maxV = -Infinity;
    for (const p of hull) {
      const u = p[0] * ux + p[1] * uy;
      const v = -p[0] * uy + p[1] * ux;
      if (u < minU) minU = u;
      if (u > maxU) maxU = u;
      if (v < minV) minV = v;
      if (v > maxV) maxV = v;
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea - 1e-9) {
      bestArea = area;
      const cu = (minU + maxU) / 2;
      const cv = (minV + maxV) / 2;
      best = { cx: cu * ux - cv * uy, cy: cu * uy + cv * ux, w: maxU - minU, h: maxV - minV, angle: Math.atan2(uy, ux) };
    }
  }
  return best!;
}

/** The four corners of a rotated rectangle (any order). */
export function rectCorners(r: RotatedRect): Quad {
  const ux = Math.cos(r.angle);
  const uy = Math.sin(r.angle);
  const hw = r.w / 2;
  const hh = r.h / 2;
  const at = (su: number, sv: number): Pt => [r.cx + su * hw * ux - sv * hh * uy, r.cy + su * hw * uy + sv * hh * ux];
  return [at(-1, -1), at(1, -1), at(1, 1), at(-1, 1)];
}

/**
 * Corners as top-left, top-right, bottom-right, bottom-left, the way PaddleOCR's
 * `get_mini_boxes` orders them: the two left-most points (by x) give top-left (smaller y)
 * and bottom-left, the two right-most give top-right and bottom-right.
 */
export function orderCorners(quad: readonly Pt[]): Quad {
  const p = [...quad].sort((a, b) => a[0] - b[0]);
  const [a, b, c, d] = p as [Pt, Pt, Pt, Pt];
  const [tl, bl] = b[1] > a[1] ? [a, b] : [b, a];
  const [tr, br] = d[1] > c[1] ? [c, d] : [d, c];
  return [tl, tr, br, bl];
}

/** PaddleOCR's unclip for a rectangle: grow every side by area × ratio / perimeter. */
export function unclipRect(r: RotatedRect, ratio = 1.5): RotatedRect {
  const perimeter = 2 * (r.w + r.h);
  if (perimeter === 0) return { ...r };
  const d = (r.w * r.h * ratio) / perimeter;
  return { ...r, w: r.w + 2 * d, h: r.h + 2 * d };
}

const dist = (a: Pt, b: Pt): number => Math.hypot(a[0] - b[0], a[1] - b[1]);

/**
 * Samples the quad `q` (tl, tr, br, bl) of an RGBA image onto an upright w × h RGBA image.
 * Bilinear in both the quad mapping and the pixel lookup; outside pixels repeat the edge.
 */
export function cropQuad(src: Rgba, q: Quad, w: number, h: number): Rgba {
  const out = new Uint8Array(w * h * 4);
  const [tl, tr, br, bl] = q;
  const W = src.width;
  const H = src.height;
  const s = src.data;
  for (let y = 0; y < h; y++) {
    const v = h > 1 ? y / (h - 1) : 0;
    // Left and right edges of the quad at this row.
    const lx = tl[0] + (bl[0] - tl[0]) * v;
    const ly = tl[1] + (bl[1] - tl[1]) * v;
    const rx = tr[0] + (br[0] - tr[0]) * v;
    const ry = tr[1] + (br[1] - tr[1]) * v;
    for (let x = 0; x < w; x++) {
      const u = w > 1 ? x / (w - 1) : 0;
      const sx = Math.min(W - 1, Math.max(0, lx + (rx - lx) * u));
      const sy = Math.min(H - 1, Math.max(0, ly + (ry - ly) * u));
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = Math.min(W - 1, x0 + 1);
      const y1 = Math.min(H - 1, y0 + 1);
      const fx = sx - x0;
      const fy = sy - y0;
      const i00 = (y0 * W + x0) * 4;
      const i10 = (y0 * W + x1) * 4;
      const i01 = (y1 * W + x0) * 4;
      const i11 = (y1 * W + x1) * 4;
      const o = (y * w + x) * 4;
      for (let c = 0; c < 4; c++) {
        const top = s[i00 + c]! + (s[i10 + c]! - s[i00 + c]!) * fx;
        const bottom = s[i01 + c]! + (s[i11 + c]! - s[i01 + c]!) * fx;
        out[o + c] = Math.round(top + (bottom - top) * fy);
      }
    }
  }
  return { data: out, width: w, height: h };
}

/** 90° anticlockwise (numpy's `rot90`): the top row becomes the left column, read upwards. */
export function rotate90ccw(img: Rgba): Rgba {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(data.length);
  // out is h wide and w tall; out(x=r, y=w-1-c) = in(x=c, y=r).
  for (let r = 0; r < h; r++)
    for (let c = 0; c < w; c++) {
      const i = (r * w + c) * 4;
      const o = ((w - 1 - c) * h + r) * 4;
      out[o] = data[i]!;
      out[o + 1] = data[i + 1]!;
      out[o + 2] = data[i + 2]!;
      out[o + 3] = data[i + 3]!;
    }
  return { data: out, width: h, height: w };
}

export interface TextRegion {
  /** tl, tr, br, bl in pixels of the source image, clamped and rounded. */
  box: Quad;
  /** The region cut out upright (RGBA). */
  image: Rgba;
}

const MIN_SIDE = 3;

/**
 * Text regions of a DB probability map that was already thresholded into `map` (RGBA, any
 * channel > 127 is text) and the image it was computed on (`source`, the same size or
 * scaled: boxes are scaled to `source`).
 */
export function textRegions(map: Rgba, source: Rgba): TextRegion[] {
  const n = map.width * map.height;
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) mask[i] = map.data[i * 4]! > 127 ? 1 : 0;
  const rx = source.width / map.width;
  const ry = source.height / map.height;
  const regions: TextRegion[] = [];
  for (const pts of componentExtremes(mask, map.width, map.height)) {
    const rect = minAreaRect(pts);
    if (Math.min(rect.w, rect.h) < MIN_SIDE) continue;
    const grown = unclipRect(rect);
    if (Math.min(grown.w, grown.h) < MIN_SIDE + 2) continue;
    const box = orderCorners(rectCorners(grown)).map(
      ([x, y]): Pt => [Math.min(source.width, Math.max(0, Math.round(x * rx))), Math.min(source.height, Math.max(0, Math.round(y * ry)))],
    ) as Quad;
    const w = Math.trunc(Math.max(dist(box[0], box[1]), dist(box[2], box[3])));
    const h = Math.trunc(Math.max(dist(box[0], box[3]), dist(box[1], box[2])));
    if (w <= MIN_SIDE || h <= MIN_SIDE) continue;
    let image = cropQuad(source, box, w, h);
    if (h / w >= 1.5) image = rotate90ccw(image);
    regions.push({ box, image });
  }
  return regions;
}
