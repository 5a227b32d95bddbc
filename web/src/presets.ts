/**
 * Prompts for the tasks of Gemini's image-understanding guide, worded as the guide words
 * them, with the response options each task wants.
 */
export interface Preset {
  id: string;
  title: string;
  prompt: string;
  responseMimeType: '' | 'application/json';
  /** Images the task needs at least (compare wants two). */
  minImages: number;
}

export const PRESETS: readonly Preset[] = [
  { id: 'caption', title: 'Caption', prompt: 'Caption this image.', responseMimeType: '', minImages: 1 },
  {
    id: 'detect',
    title: 'Detect',
    prompt: 'Detect all of the prominent items in the image. The box_2d should be [ymin, xmin, ymax, xmax] normalized to 0-1000.',
    responseMimeType: 'application/json',
    minImages: 1,
  },
  {
    id: 'segment',
    title: 'Segment',
    prompt:
      'Give the segmentation masks for the prominent items. Output a JSON list of segmentation masks where each entry contains the 2D bounding box in the key "box_2d", the segmentation mask in key "mask", and the text label in the key "label". Use descriptive labels.',
    responseMimeType: '',
    minImages: 1,
  },
  { id: 'read', title: 'Read the text', prompt: 'Read all the text in this image.', responseMimeType: '', minImages: 1 },
  {
    id: 'compare',
    title: 'Compare',
    prompt: 'What is different between these two images?',
    // As JSON the answer lists the changed regions as box_2d, which are drawn on both images.
    responseMimeType: 'application/json',
    minImages: 2,
  },
];
