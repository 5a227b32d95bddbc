/**
 * Segmentation of anything a grounding provider can box (the Grounded-SAM recipe): the
 * grounding model finds boxes for the phrase ("the wooden and glass items"), and the local
 * SAM turns each box into a mask. The grounding provider is any provider with `detect`:
 * Florence-2 or OWLv2 in process, a Qwen-VL server, upstream Gemini is not (it answers whole).
 */
import type { DecodedImage } from '../../media/decode.js';
import type { ObjectMask, NormBox } from '../../vision/analysis.js';
import type { FoundMask, Provider } from '../../seam/provider.js';
import { imagesOf } from '../../seam/request.js';
import type { GroundedSamProviderSpec } from './config.js';

/** Masks for given boxes on one image: the offline SAM, through the vision pool. */
export type SegmentBoxes = (image: DecodedImage, boxes: Array<{ box: NormBox; label: string }>, signal: AbortSignal) => Promise<ObjectMask[]>;

export function createGroundedSamProvider(id: string, _spec: GroundedSamProviderSpec, grounding: Provider, segmentBoxes: SegmentBoxes): Provider {
  if (!grounding.detect) throw new Error(`providers.${id}.grounding: provider "${grounding.id}" cannot detect objects, so it cannot ground SAM`);
  const detect = grounding.detect.bind(grounding);
  return {
    id,
    kind: 'composite',
    capabilities: ['segment'],
    describe: () => `SAM masks over boxes from ${grounding.id} (${grounding.describe()})`,
    async segment(ctx, query) {
      const found = await detect(ctx, query);
      const images = imagesOf(ctx).map((p) => p.image);
      const masks: FoundMask[] = [];
      for (const [index, image] of images.entries()) {
        const boxes = found.filter((f) => f.image === index).map((f) => ({ box: f.box, label: f.label }));
        if (boxes.length === 0) continue;
        const segmented = await segmentBoxes(image, boxes, ctx.signal);
        masks.push(...segmented.map((m) => ({ image: index, label: m.label, box: m.box, png: m.png, score: m.score })));
      }
      return masks;
    },
  };
}
