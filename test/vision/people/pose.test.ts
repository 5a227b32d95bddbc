import { describe, expect, it } from 'vitest';
import { frameOf } from '../../../src/vision/people/crop.js';
import {
  classifyPosture,
  decodeMoveNet,
  isPerson,
  normaliseKeypoints,
  poseBox,
  postureOf,
  refineCrop,
  type PixelKeypoint,
} from '../../../src/vision/people/pose.js';
import { KEYPOINT_NAMES, type KeypointName } from '../../../src/vision/people/types.js';

/** A skeleton from named points (pixels, y down); unnamed joints get score 0. */
function body(points: Partial<Record<KeypointName, [number, number]>>, score = 0.8): PixelKeypoint[] {
  return KEYPOINT_NAMES.map((part) => {
    const p = points[part];
    return p ? { part, x: p[0], y: p[1], score } : { part, x: 0, y: 0, score: 0 };
  });
}

// Torso 100 px long in every figure below (shoulders' mid → hips' mid).
const STANDING = body({
  nose: [100, 80],
  left_shoulder: [120, 100],
  right_shoulder: [80, 100],
  left_hip: [115, 200],
  right_hip: [85, 200],
  left_knee: [115, 290],
  right_knee: [85, 290],
  left_ankle: [115, 380],
  right_ankle: [85, 380],
});
/** Side view on a chair: thighs level, shins hanging. */
const CHAIR_SIDE = body({
  left_shoulder: [100, 100],
  right_shoulder: [102, 100],
  left_hip: [100, 200],
  right_hip: [102, 200],
  left_knee: [185, 205],
  right_knee: [187, 205],
  left_ankle: [185, 290],
  right_ankle: [187, 290],
});
/** Facing the camera on a chair: thighs point at the camera, so the knees sit just below the hips. */
const CHAIR_FRONT = body({
  left_shoulder: [130, 100],
  right_shoulder: [70, 100],
  left_hip: [120, 200],
  right_hip: [80, 200],
  left_knee: [125, 225],
  right_knee: [75, 225],
  left_ankle: [125, 310],
  right_ankle: [75, 310],
});
/** Lying on the side, head left. */
const LYING = body({
  left_shoulder: [100, 300],
  right_shoulder: [100, 310],
  left_hip: [200, 300],
  right_hip: [200, 310],
  left_knee: [290, 300],
  left_ankle: [380, 302],
});
/** Kneeling upright: thighs hang, shins fold back level with the knees. */
const KNEELING = body({
  left_shoulder: [100, 100],
  right_shoulder: [102, 100],
  left_hip: [100, 200],
  right_hip: [102, 200],
  left_knee: [100, 290],
  right_knee: [102, 290],
  left_ankle: [15, 295],
  right_ankle: [17, 295],
});

describe('classifyPosture', () => {
  it('standing: upright torso, thighs and shins hanging', () => {
    expect(classifyPosture(STANDING)).toBe('standing');
  });

  it('standing with the lower legs hidden (thighs hanging)', () => {
    const s = STANDING.map((k) => (k.part.endsWith('ankle') ? { ...k, score: 0.1 } : k));
    expect(classifyPosture(s)).toBe('standing');
  });

  it('standing judged by the ankles when the knees are not seen', () => {
    const s = STANDING.map((k) => (k.part.endsWith('knee') ? { ...k, score: 0.1 } : k));
    expect(classifyPosture(s)).toBe('standing');
  });

  it('sitting: thighs level (side view) or foreshortened (front view)', () => {
    expect(classifyPosture(CHAIR_SIDE)).toBe('sitting');
    expect(classifyPosture(CHAIR_FRONT)).toBe('sitting');
  });

  it('lying: torso near horizontal, either way round', () => {
    expect(classifyPosture(LYING)).toBe('lying');
    expect(classifyPosture(LYING.map((k) => ({ ...k, x: 500 - k.x })))).toBe('lying');
  });

  it('unknown: kneeling, inverted, bent over, or without legs or torso', () => {
    expect(classifyPosture(KNEELING)).toBe('unknown');
    expect(classifyPosture(STANDING.map((k) => ({ ...k, y: 500 - k.y })))).toBe('unknown'); // handstand
    const bent = body({ left_shoulder: [170, 130], right_shoulder: [172, 130], left_hip: [100, 200], right_hip: [102, 200] });
    expect(classifyPosture(bent)).toBe('unknown'); // 45°
    const upper = STANDING.map((k) => (/knee|ankle/.test(k.part) ? { ...k, score: 0.05 } : k));
    expect(classifyPosture(upper)).toBe('unknown');
    expect(classifyPosture(STANDING.map((k) => (k.part.endsWith('hip') ? { ...k, score: 0 } : k)))).toBe('unknown');
    expect(classifyPosture([])).toBe('unknown');
  });

  it('works from one side of the body', () => {
    const left = STANDING.filter((k) => !k.part.startsWith('right'));
    expect(classifyPosture(left)).toBe('standing');
  });

  it('postureOf measures angles in pixels, not normalised units', () => {
    // In a 400×100 image the torso below runs 40 px across and 40 px down (45°: bent over),
    // though in normalised units (0.1 across, 0.4 down) it would look upright.
    const kps = [
      { part: 'left_shoulder', x: 0.5, y: 0.1, score: 0.9 },
      { part: 'left_hip', x: 0.6, y: 0.5, score: 0.9 },
      { part: 'left_knee', x: 0.6, y: 0.9, score: 0.9 },
    ] as const;
    expect(classifyPosture(kps)).toBe('standing'); // as if square
    expect(postureOf([...kps], 400, 100)).toBe('unknown'); // 40 px across, 40 px down: 45°
  });
});

describe('MoveNet decoding and checks', () => {
  it('decodes (y, x, score) rows over the crop into pixels', () => {
    const raw = new Float32Array(51);
    raw.set([0.25, 0.5, 0.9], 0); // nose at y .25, x .5
    raw.set([1, 0, 0.4], 3 * 16); // right ankle at the bottom-left corner
    const kps = decodeMoveNet(raw, { cx: 100, cy: 100, side: 80 });
    expect(kps).toHaveLength(17);
    expect(kps[0]).toEqual({ part: 'nose', x: 100, y: 80, score: expect.closeTo(0.9, 6) });
    expect(kps[16]).toMatchObject({ part: 'right_ankle', x: 60, y: 140 });
    expect(() => decodeMoveNet(new Float32Array(50), { cx: 0, cy: 0, side: 1 })).toThrow(RangeError);
  });

  it('refines on a square 1.5× around the joints it saw', () => {
    expect(refineCrop(STANDING)).toEqual({ cx: 100, cy: 230, side: 300 * 1.5 });
    expect(refineCrop(body({ nose: [5, 5], left_eye: [6, 5] }))).toBeNull();
  });

  it('tells a person from a low-scoring guess', () => {
    expect(isPerson(STANDING)).toBe(true);
    expect(isPerson(STANDING.map((k) => ({ ...k, score: 0.12 })))).toBe(false);
    // a few confident points are not enough
    expect(isPerson(body({ nose: [1, 1], left_eye: [2, 2], right_eye: [3, 3] }, 1))).toBe(false);
  });

  it('boxes the person, padded for the head top and feet', () => {
    const f = frameOf(400, 400);
    // joints span x 80..120, y 80..380: pad y by 30, x by max(4, 15) = 15
    expect(poseBox(STANDING, 0.3, f)).toEqual([0.1625, 0.125, 0.3375, 1]); // [65, 50, 135, 410] px, clamped
    expect(poseBox(body({}), 0.3, f)).toBeNull();
  });

  it('normalises the seen keypoints', () => {
    const kps = normaliseKeypoints(STANDING, 0.3, frameOf(200, 400));
    expect(kps.map((k) => k.part)).toEqual(['nose', 'left_shoulder', 'right_shoulder', 'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle']);
    expect(kps[0]).toEqual({ part: 'nose', x: 0.5, y: 0.2, score: 0.8 });
  });
});
