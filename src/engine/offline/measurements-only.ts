/**
 * The offline answerer when no vision model is installed: it measures what can be computed
 * from the pixels (format, size, orientation, dominant colours, brightness, and for several
 * images where they differ) and engine/compose/measurements.ts says it, with plainly that
 * recognising objects, reading text or captioning needs a vision model.
 */
import type { DecodedImage } from '../../media/decode.js';
import { imagesOf } from '../../seam/request.js';
import type { ProviderContext } from '../../seam/provider.js';
import { renderMeasurements, type Measurements } from '../compose/measurements.js';
import { compareConsecutive, measurePixels } from '../measure.js';
import type { OfflineAnswerer } from './provider.js';

export async function measureImages(images: Array<{ label: string; image: DecodedImage }>): Promise<Measurements> {
  const measured = await Promise.all(images.map(({ image }) => measurePixels(image)));
  const differences = compareConsecutive(
    images.map((p) => p.image),
    measured.map((m) => m.thumb),
  ).map((d) => ({
    ...d,
    changedFraction: round(d.changedFraction),
    meanDifference: round(d.meanDifference),
    regions: d.regions.slice(0, 8).map((r) => ({ ...r, area: round(r.area) })),
  }));
  return {
    images: images.map(({ label, image }, i) => ({
      index: i + 1,
      source: label,
      format: image.format,
      width: image.width,
      height: image.height,
      orientation: image.orientation,
      brightness: round(measured[i]!.brightness),
      dominantColours: measured[i]!.colours.map((c) => ({ ...c, fraction: round(c.fraction) })),
    })),
    differences,
  };
}

// Three decimals: the JSON answer states measurements, not float noise.
const round = (v: number) => Math.round(v * 1000) / 1000;

export class MeasurementsOnly implements OfflineAnswerer {
  readonly name = 'measurements';

  async *generate(ctx: ProviderContext): AsyncIterable<string> {
    yield* renderMeasurements(await measureImages(imagesOf(ctx)), ctx.prompt, ctx.output.mimeType);
  }
}
