/**
 * How many prompt tokens an image costs, per model family (Gemini's documented rules). Pure: width and
 * height in (upright, as decoded), tokens out. countTokens and generateContent's
 * usageMetadata both call this so they always agree.
 *
 * Policies:
 *  - `fixed258`: 258 per image whatever its size (Gemini 1.0 Pro Vision; also what the
 *    Gemini API was observed to report for 2.5 models, kept available as an option).
 *  - `tiles-1.5`: 258 if both sides ≤ 384, else tiles of crop = floor(min(w,h)/1.5)
 *    clamped to 256..768, 258 per tile (the documented 1.5 rule).
 *  - `tiles-2x`: the same without the clamp (the documented 2.0/2.5 "rough formula"; the
 *    default for 2.x here). `generationConfig.mediaResolution` overrides it: LOW 64,
 *    MEDIUM 256, HIGH 256 ("zoomed reframing with 256 tokens"); UNSPECIFIED → tiles.
 *  - `gemini3`: a fixed budget per level: LOW 280, MEDIUM 560, HIGH 1120 (the default for
 *    images), ULTRA_HIGH 2240.
 * A part's own `mediaResolution.level` overrides the request-wide one (documented for
 * Gemini 3; applied to 2.x the same way so one rule holds everywhere).
 *
 * Unclamped tiling charges by aspect ratio: the short side is always 2 tiles. For very
 * thin images (short side < 2 px) floor(min/1.5) is 0; crop is then 1 px so the count
 * stays finite and deterministic, though large (a 1×1000 image is 1000 tiles).
 */

export const IMAGE_TOKEN_POLICIES = ['fixed258', 'tiles-1.5', 'tiles-2x', 'gemini3'] as const;
export type ImageTokenPolicy = (typeof IMAGE_TOKEN_POLICIES)[number];

export const TOKENS_PER_TILE = 258;
/** Both sides at or under this: one tile (258), for the tiling policies. */
export const SMALL_IMAGE_SIDE = 384;

export type MediaResolutionLevel = 'UNSPECIFIED' | 'LOW' | 'MEDIUM' | 'HIGH' | 'ULTRA_HIGH';

export interface ImageTokenInput {
  width: number;
  height: number;
  /** `generationConfig.mediaResolution`, e.g. `MEDIA_RESOLUTION_LOW`. */
  mediaResolution?: string;
  /** `parts[i].mediaResolution.level`; overrides `mediaResolution` for this image. */
  partMediaResolution?: string;
}

const GEMINI2_LEVEL_TOKENS: Partial<Record<MediaResolutionLevel, number>> = {
  LOW: 64,
  MEDIUM: 256,
  HIGH: 256,
  ULTRA_HIGH: 256, // Gemini 3's per-part level; on 2.x the highest 2.x level is the nearest
};

const GEMINI3_LEVEL_TOKENS: Record<Exclude<MediaResolutionLevel, 'UNSPECIFIED'>, number> = {
  LOW: 280,
  MEDIUM: 560,
  HIGH: 1120,
  ULTRA_HIGH: 2240,
};

/** `MEDIA_RESOLUTION_LOW` / `low` / `LOW` → `LOW`; absent or unknown → `UNSPECIFIED`. */
export function parseMediaResolution(value: string | undefined): MediaResolutionLevel {
  const v = (value ?? '').trim().toUpperCase().replace(/^MEDIA_RESOLUTION_/, '');
  return v === 'LOW' || v === 'MEDIUM' || v === 'HIGH' || v === 'ULTRA_HIGH' ? v : 'UNSPECIFIED';
}

/** The level in force for one image: the part's own if set, else the request's. */
export function effectiveMediaResolution(input: Pick<ImageTokenInput, 'mediaResolution' | 'partMediaResolution'>): MediaResolutionLevel {
  const part = parseMediaResolution(input.partMediaResolution);
  return part !== 'UNSPECIFIED' ? part : parseMediaResolution(input.mediaResolution);
}

/** Number of 258-token tiles under the documented tiling rule; `clamp` is the 1.5 variant. */
export function imageTiles(width: number, height: number, clamp: boolean): number {
  if (width <= SMALL_IMAGE_SIDE && height <= SMALL_IMAGE_SIDE) return 1;
  let crop = Math.floor(Math.min(width, height) / 1.5);
  if (clamp) crop = Math.min(768, Math.max(256, crop));
  crop = Math.max(1, crop); // guard: a 1-px-wide image would give crop 0
  return Math.ceil(width / crop) * Math.ceil(height / crop);
}

export function countImageTokens(policy: ImageTokenPolicy, input: ImageTokenInput): number {
  const { width, height } = input;
  if (!(Number.isFinite(width) && Number.isFinite(height) && width > 0 && height > 0))
    throw new RangeError(`image size must be positive, got ${width}x${height}`);
  switch (policy) {
    case 'fixed258':
      return TOKENS_PER_TILE;
    case 'tiles-1.5':
      return TOKENS_PER_TILE * imageTiles(width, height, true);
    case 'tiles-2x': {
      const fixed = GEMINI2_LEVEL_TOKENS[effectiveMediaResolution(input)];
      return fixed ?? TOKENS_PER_TILE * imageTiles(width, height, false);
    }
    case 'gemini3': {
      const level = effectiveMediaResolution(input);
      return GEMINI3_LEVEL_TOKENS[level === 'UNSPECIFIED' ? 'HIGH' : level];
    }
  }
}

/** The model families whose token accounting differs; every catalogue entry names one (ModelEntry.family). */
export type ModelFamily = 'gemini-1.0' | 'gemini-1.5' | 'gemini-2' | 'gemini-3';

/** The image policy of each family: the one table the server counts image tokens by. */
export const IMAGE_TOKEN_POLICY: Readonly<Record<ModelFamily, ImageTokenPolicy>> = {
  'gemini-1.0': 'fixed258',
  'gemini-1.5': 'tiles-1.5',
  'gemini-2': 'tiles-2x',
  'gemini-3': 'gemini3',
};

/** The policy for a resolved model: its catalogue entry's family. */
export function imageTokenPolicyOf(model: { family: ModelFamily }): ImageTokenPolicy {
  return IMAGE_TOKEN_POLICY[model.family];
}

/**
 * The policy for a bare model name (`gemini-2.5-flash`, `models/gemini-1.5-pro-002`,
 * `gemini-3-pro-preview`), for callers without a catalogue entry; the server reads the
 * entry's family (imageTokenPolicyOf). Unknown names get the 2.x rule, the family most
 * clients name.
 */
export function imageTokenPolicyFor(modelId: string): ImageTokenPolicy {
  const id = modelId.trim().toLowerCase().replace(/^models\//, '');
  if (/^gemini-1\.0-/.test(id) || id === 'gemini-pro-vision') return IMAGE_TOKEN_POLICY['gemini-1.0'];
  if (/^gemini-1\.5-/.test(id)) return IMAGE_TOKEN_POLICY['gemini-1.5'];
  if (/^gemini-3([.-]|$)/.test(id)) return IMAGE_TOKEN_POLICY['gemini-3'];
  return IMAGE_TOKEN_POLICY['gemini-2']; // gemini-2.0-*, gemini-2.5-*, gemini-*-latest aliases, anything else
}

export function isImageTokenPolicy(value: string): value is ImageTokenPolicy {
  return (IMAGE_TOKEN_POLICIES as readonly string[]).includes(value);
}
