/**
 * The catalogue's family is what token accounting reads (media/tokens.ts): every name a client
 * can use resolves to an entry whose family gives the image policy its name always had.
 */
import { describe, expect, it } from 'vitest';
import { createModelCatalog, DEFAULT_MODELS, withRoutedModels } from '../../src/engine/model-catalog.js';
import { IMAGE_TOKEN_POLICY, imageTokenPolicyFor, imageTokenPolicyOf } from '../../src/media/tokens.js';

describe('ModelEntry.family → image token policy', () => {
  const catalog = createModelCatalog(withRoutedModels(DEFAULT_MODELS, ['qwen-vl']));

  it.each([
    ...DEFAULT_MODELS.map((m) => m.id),
    'models/gemini-2.5-flash',
    'gemini-2.5-flash-preview-05-20',
    'gemini-1.5-flash-002',
    'gemini-1.0-pro-vision-001',
    'gemini-3-pro-image-preview',
    'qwen-vl',
  ])('%s', (name) => {
    const entry = catalog.find(name);
    expect(entry, `${name} resolves`).toBeDefined();
    expect(imageTokenPolicyOf(entry!)).toBe(imageTokenPolicyFor(name));
  });

  it('each family has one policy, and they differ', () => {
    expect(IMAGE_TOKEN_POLICY).toEqual({ 'gemini-1.0': 'fixed258', 'gemini-1.5': 'tiles-1.5', 'gemini-2': 'tiles-2x', 'gemini-3': 'gemini3' });
    expect(imageTokenPolicyOf({ family: 'gemini-1.5' })).toBe('tiles-1.5');
  });
});
