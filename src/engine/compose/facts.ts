/** Everything measured about the images of one request: the composer's only input. */
import type { DominantColour } from '../../vision/colors.js';
import type { CameraFacts } from '../../media/exif.js';
import type { ImageDifference } from '../../vision/diff.js';
import type { DetectedObject, ObjectMask, PersonFace, PersonPose, ReadLine } from '../../vision/analysis.js';

export interface ImageFacts {
  /** 1-based, in request order. */
  index: number;
  width: number;
  height: number;
  format: string;
  /** The objects answers assert: detections at or above the detector's threshold (./confidence.ts). */
  objects: DetectedObject[];
  /** Detections just under the threshold: said as "possibly", never counted, boxed or denied. */
  possible?: DetectedObject[];
  /** The detector's threshold the bands of ./confidence.ts are measured from. */
  detectThreshold?: number;
  /** The image measured like a page of text and was read for it (captions say so). */
  textPage?: boolean;
  masks?: ObjectMask[];
  text?: ReadLine[];
  /** Faces and poses, when the question was about people and the model is installed. */
  people?: { faces: PersonFace[]; poses: PersonPose[] };
  colours: DominantColour[];
  brightness: number;
  hash: string;
  /** Camera facts from EXIF (make, model, when, lens, where). */
  camera?: CameraFacts;
  /** Why the models did not look at this image: too small to hold objects, or past the per-request limit. */
  notLooked?: 'tiny' | 'limit';
  /** Dominant colours inside each object's box, same order as `objects`. */
  objectColours?: DominantColour[][];
}

export interface PairFacts extends ImageDifference {
  images: [number, number];
  identicalBytes: boolean;
}

export interface RequestFacts {
  images: ImageFacts[];
  differences: PairFacts[];
}
