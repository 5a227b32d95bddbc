import { describe, expect, it } from 'vitest';
import { guessAdapter } from '../../../src/providers/hub/adapter-kind.js';
import { buildChatMessages, maxNewTokens, processorOptions, textFirst } from '../../../src/providers/hub/adapters/chat-vlm.js';
import { hypothesisTemplate, normaliseLabels, rankScores } from '../../../src/providers/hub/adapters/clip.js';
import {
  FLORENCE_TASKS,
  captionTaskFor,
  cleanFlorenceText,
  florencePrompt,
  locToNorm,
  parseLocBoxes,
  parsePolygons,
  parseQuads,
} from '../../../src/providers/hub/adapters/florence2.js';
import { padToSquare, splitLabels, suppressDuplicates, unpadBox } from '../../../src/providers/hub/adapters/owlv2.js';
import { DtypeError, formatDtypeSpec, parseDtypeSpec, parseOnnxPath, selectFiles, transformersDtype } from '../../../src/providers/hub/dtype.js';
import { parseManifest, ManifestError, weightBytes } from '../../../src/providers/hub/manifest.js';
import { checkRepoId, fileIn, modelDir, RepoIdError } from '../../../src/providers/hub/store.js';
import { nextLink } from '../../../src/providers/hub/hub-api.js';
import type { InputTurn } from '../../../src/seam/request.js';
import type { DecodedImage } from '../../../src/media/decode.js';

describe('dtype selection', () => {
  it('reads module and dtype from onnx paths, longest suffix first', () => {
    expect(parseOnnxPath('onnx/decoder_model_merged_q4f16.onnx')).toMatchObject({ module: 'decoder_model_merged', dtype: 'q4f16', external: false });
    expect(parseOnnxPath('onnx/decoder_model_merged_q4.onnx')).toMatchObject({ module: 'decoder_model_merged', dtype: 'q4' });
    expect(parseOnnxPath('onnx/model_quantized.onnx')).toMatchObject({ module: 'model', dtype: 'q8' });
    expect(parseOnnxPath('onnx/model.onnx')).toMatchObject({ module: 'model', dtype: 'fp32' });
    expect(parseOnnxPath('onnx/model_fp16.onnx_data_1')).toMatchObject({ module: 'model', dtype: 'fp16', external: true });
    expect(parseOnnxPath('model.onnx')).toBeUndefined();
    expect(parseOnnxPath('onnx/sub/model.onnx')).toBeUndefined();
  });

  const tree = [
    'config.json', 'tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja', 'merges.txt', 'spiece.model', 'README.md', '.gitattributes', 'model.safetensors',
    'onnx/vision_encoder.onnx', 'onnx/vision_encoder_fp16.onnx', 'onnx/vision_encoder_q4.onnx',
    'onnx/embed_tokens.onnx', 'onnx/embed_tokens_fp16.onnx', 'onnx/embed_tokens_q4.onnx',
    'onnx/decoder_model_merged.onnx', 'onnx/decoder_model_merged.onnx_data', 'onnx/decoder_model_merged_q4.onnx', 'onnx/decoder_model_merged_fp16.onnx',
    'onnx/decoder_model.onnx', 'onnx/decoder_with_past_model_q4.onnx',
  ].map((path) => ({ path, size: 10 }));

  it('keeps support files and the chosen variant of each needed module, external data included', () => {
    const s = selectFiles(tree, parseDtypeSpec('fp32'));
    expect(s.files.map((f) => f.path).sort()).toEqual(
      ['chat_template.jinja', 'config.json', 'merges.txt', 'spiece.model', 'tokenizer.json', 'tokenizer_config.json',
        'onnx/decoder_model_merged.onnx', 'onnx/decoder_model_merged.onnx_data', 'onnx/embed_tokens.onnx', 'onnx/vision_encoder.onnx'].sort(),
    );
    expect(s.modules).toEqual(['decoder_model_merged', 'embed_tokens', 'vision_encoder']);
    expect(s.missing).toEqual([]);
  });

  it('per-module overrides pick different variants', () => {
    const s = selectFiles(tree, parseDtypeSpec('q4,vision_encoder=fp16'));
    expect(s.files.filter((f) => f.path.startsWith('onnx/')).map((f) => f.path).sort()).toEqual(
      ['onnx/decoder_model_merged_q4.onnx', 'onnx/embed_tokens_q4.onnx', 'onnx/vision_encoder_fp16.onnx'],
    );
  });

  it('reports modules lacking the dtype, with what they have', () => {
    const s = selectFiles(tree, parseDtypeSpec('q8'));
    expect(s.missing.map((m) => m.module)).toEqual(['decoder_model_merged', 'embed_tokens', 'vision_encoder']);
    expect(s.missing[0]!.available).toEqual(['fp16', 'fp32', 'q4']);
    expect(s.available).toEqual(['fp16', 'fp32', 'q4']);
  });

  it('all modules keeps superseded decoders', () => {
    expect(selectFiles(tree, parseDtypeSpec('q4'), true).modules).toContain('decoder_with_past_model');
  });

  it('parses, formats and hands specs to transformers.js', () => {
    expect(formatDtypeSpec(parseDtypeSpec('vision_encoder=fp16, q4 ,embed_tokens=fp16'))).toBe('q4,embed_tokens=fp16,vision_encoder=fp16');
    expect(formatDtypeSpec(parseDtypeSpec(undefined))).toBe('fp32');
    expect(() => parseDtypeSpec('fp64')).toThrow(DtypeError);
    expect(() => parseDtypeSpec('q4,q8')).toThrow(/two defaults/);
    expect(transformersDtype(parseDtypeSpec('q8'), ['model'])).toBe('q8');
    expect(transformersDtype(parseDtypeSpec('q4,vision_encoder=fp16'), ['decoder_model_merged', 'embed_tokens', 'vision_encoder'])).toEqual({
      decoder_model_merged: 'q4',
      embed_tokens: 'q4',
      vision_encoder: 'fp16',
    });
  });
});

describe('manifest and store', () => {
  const good = {
    format: 1, repo: 'a/b', revision: 'main', commit: 'c'.repeat(40), dtype: 'q4', modules: ['model'], adapter: 'clip', endpoint: 'https://huggingface.co', pulledAt: '2025-01-01T00:00:00.000Z',
    files: [{ path: 'config.json', size: 10 }, { path: 'onnx/model_q4.onnx', size: 1000, sha256: 'f'.repeat(64) }, { path: 'onnx/model_q4.onnx_data', size: 5000 }],
  };
  it('parses a manifest and sums the ONNX weights', () => {
    const m = parseManifest(JSON.stringify(good), 'm.json');
    expect(weightBytes(m)).toBe(6000);
  });
  it('rejects a bad one with where and why', () => {
    expect(() => parseManifest(JSON.stringify({ ...good, adapter: 'yolo' }), 'm.json')).toThrow(/m\.json: adapter/);
    expect(() => parseManifest('{', 'm.json')).toThrow(ManifestError);
  });
  it('keeps repo ids and file paths inside the store', () => {
    expect(modelDir('/m', 'onnx-community/Florence-2-base-ft')).toBe('/m/onnx-community/Florence-2-base-ft');
    expect(checkRepoId('gpt2')).toBe('gpt2');
    for (const bad of ['../etc', 'a/../b', 'a/b/c', '', 'a/..', '/abs']) expect(() => checkRepoId(bad), bad).toThrow(RepoIdError);
    expect(() => fileIn('/m/a/b', '../../x')).toThrow(RepoIdError);
    expect(fileIn('/m/a/b', 'onnx/model.onnx')).toBe('/m/a/b/onnx/model.onnx');
  });
  it('reads Link rel=next', () => {
    expect(nextLink('<https://huggingface.co/api/models/a/b/tree/main?cursor=xyz>; rel="next"')).toBe('https://huggingface.co/api/models/a/b/tree/main?cursor=xyz');
    expect(nextLink(null)).toBeUndefined();
  });
});

describe('adapter guessing', () => {
  it('from model_type, then from the id', () => {
    expect(guessAdapter('x/y', 'florence2')).toBe('florence2');
    expect(guessAdapter('onnx-community/Florence-2-base-ft')).toBe('florence2');
    expect(guessAdapter('HuggingFaceTB/SmolVLM-256M-Instruct')).toBe('chat-vlm');
    expect(guessAdapter('onnx-community/Qwen2.5-VL-3B-Instruct-ONNX')).toBe('chat-vlm');
    expect(guessAdapter('Xenova/owlv2-base-patch16-ensemble')).toBe('owlv2');
    expect(guessAdapter('Xenova/owlvit-base-patch32')).toBe('owlv2');
    expect(guessAdapter('Xenova/clip-vit-base-patch32')).toBe('clip');
    expect(guessAdapter('Xenova/siglip-base-patch16-224')).toBe('clip');
    expect(guessAdapter('Xenova/bert-base-uncased')).toBeUndefined();
    expect(guessAdapter('someone/eclipse-detector')).toBeUndefined(); // "clip" inside a word is not CLIP
  });
});

describe('Florence-2 post-processing', () => {
  it('maps loc bins to bin centres, normalised', () => {
    expect(locToNorm(0)).toBeCloseTo(0.0005);
    expect(locToNorm(999)).toBeCloseTo(0.9995);
    expect(locToNorm(500)).toBeCloseTo(0.5005);
    expect(locToNorm(1500)).toBeCloseTo(0.9995); // clamped to the last bin
  });

  it('parses <OD> output, repeated labels and all', () => {
    const raw = '</s><s>bicycle<loc_160><loc_226><loc_739><loc_747>dog<loc_168><loc_384><loc_410><loc_933>car<loc_605><loc_124><loc_898><loc_299></s>';
    const boxes = parseLocBoxes(raw);
    expect(boxes.map((b) => b.label)).toEqual(['bicycle', 'dog', 'car']);
    expect(boxes[1]!.box[0]).toBeCloseTo(0.1685);
    expect(boxes[1]!.box[3]).toBeCloseTo(0.9335);
  });

  it('phrase grounding: boxes without text belong to the previous phrase; reversed corners are ordered', () => {
    const raw = '<s>a dog<loc_100><loc_200><loc_300><loc_400><loc_500><loc_600><loc_700><loc_800>a bike<loc_900><loc_900><loc_800><loc_800></s>';
    const boxes = parseLocBoxes(raw);
    expect(boxes.map((b) => b.label)).toEqual(['a dog', 'a dog', 'a bike']);
    expect(boxes[2]!.box).toEqual([0.8005, 0.8005, 0.9005, 0.9005]);
  });

  it('parses OCR regions as quads with bounds', () => {
    const raw = '</s><s>STOP<loc_10><loc_20><loc_90><loc_20><loc_90><loc_60><loc_10><loc_60>Main St<loc_100><loc_700><loc_400><loc_710><loc_400><loc_780><loc_100><loc_770></s>';
    const q = parseQuads(raw);
    expect(q.map((x) => x.text)).toEqual(['STOP', 'Main St']);
    expect(q[1]!.box).toEqual([locToNorm(100), locToNorm(700), locToNorm(400), locToNorm(780)]);
    expect(q[0]!.quad).toHaveLength(4);
  });

  it('parses segmentation polygons split by <sep>, dropping degenerate ones', () => {
    const raw = '</s><s><loc_100><loc_100><loc_300><loc_100><loc_300><loc_300><loc_100><loc_300><sep><loc_500><loc_500><loc_600><loc_600><sep><loc_700><loc_700><loc_800><loc_700><loc_800><loc_800><loc_1></s>';
    const polys = parsePolygons(raw);
    expect(polys).toHaveLength(2);
    expect(polys[0]).toHaveLength(4);
    expect(polys[1]).toHaveLength(3); // odd trailing coordinate dropped
    expect(parsePolygons('<poly><loc_1><loc_1><loc_9><loc_1><loc_9><loc_9></poly>')).toHaveLength(1);
  });

  it('picks the caption task from the prompt and builds prompts', () => {
    expect(captionTaskFor('Caption this image.')).toBe(FLORENCE_TASKS.detailedCaption);
    expect(captionTaskFor('Give me a short caption')).toBe(FLORENCE_TASKS.caption);
    expect(captionTaskFor('Describe this photo in detail')).toBe(FLORENCE_TASKS.moreDetailedCaption);
    expect(captionTaskFor('详细描述这张图片')).toBe(FLORENCE_TASKS.moreDetailedCaption);
    expect(florencePrompt(FLORENCE_TASKS.ground, ' the dog ')).toBe('<CAPTION_TO_PHRASE_GROUNDING>the dog');
    expect(cleanFlorenceText('</s><s>A dog on a bike.</s><pad>')).toBe('A dog on a bike.');
  });
});

describe('chat VLM prompt building', () => {
  const img = (w: number): DecodedImage => ({ width: w, height: 10, rgb: new Uint8Array(w * 30) }) as unknown as DecodedImage;
  it('turns become alternating messages with image placeholders in order', () => {
    const turns: InputTurn[] = [
      { role: 'user', parts: [{ kind: 'text', text: 'Compare these.' }, { kind: 'image', label: 'a', image: img(4) }, { kind: 'image', label: 'b', image: img(5) }] },
      { role: 'model', parts: [{ kind: 'text', text: 'The first is wider.' }] },
      { role: 'user', parts: [{ kind: 'image', label: 'c', image: img(6) }] },
      { role: 'user', parts: [{ kind: 'text', text: 'And this one?' }, { kind: 'text', text: '  ' }] },
    ];
    const { messages, images } = buildChatMessages(turns, 'Answer briefly.');
    expect(messages).toEqual([
      { role: 'system', content: [{ type: 'text', text: 'Answer briefly.' }] },
      { role: 'user', content: [{ type: 'text', text: 'Compare these.' }, { type: 'image' }, { type: 'image' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'The first is wider.' }] },
      { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'And this one?' }] },
    ]);
    expect(images.map((i) => i.width)).toEqual([4, 5, 6]);
  });
  it('max tokens from maxOutputTokens, defaulted and capped', () => {
    expect(maxNewTokens(undefined)).toBe(512);
    expect(maxNewTokens(64)).toBe(64);
    expect(maxNewTokens(1e6)).toBe(4096);
    expect(maxNewTokens(0)).toBe(512);
  });
  it('processor argument order and options by family', () => {
    expect(textFirst('idefics3')).toBe(true);
    expect(textFirst('qwen2_vl')).toBe(true);
    expect(textFirst('llava')).toBe(false);
    expect(processorOptions('idefics3')).toEqual({ do_image_splitting: false });
    expect(processorOptions('qwen2_vl')).toEqual({});
  });
});

describe('OWLv2 labels and geometry', () => {
  it('splits phrases into candidate labels sensibly', () => {
    expect(splitLabels('the wooden and glass items')).toEqual(['wooden items', 'glass items']);
    expect(splitLabels('cats and dogs')).toEqual(['cats', 'dogs']);
    expect(splitLabels('Find all the red cars, bicycles or traffic lights in the image.')).toEqual(['red cars', 'bicycles', 'traffic lights']);
    expect(splitLabels('a dog')).toEqual(['dog']);
    expect(splitLabels('the metal, plastic and wooden chairs')).toEqual(['metal chairs', 'plastic chairs', 'wooden chairs']);
    expect(splitLabels('cats and small dogs')).toEqual(['cats', 'small dogs']);
    expect(splitLabels('dog and Dog')).toEqual(['dog']);
  });

  it('pads to a square at the top-left and maps boxes back', () => {
    const image = { width: 4, height: 2, rgb: new Uint8Array(4 * 2 * 3).fill(7) };
    const sq = padToSquare(image);
    expect([sq.width, sq.height]).toEqual([4, 4]);
    expect(sq.rgb[0]).toBe(7);
    expect(sq.rgb[(2 * 4 + 0) * 3]).toBe(128); // row 2 is padding
    // A box covering the image part of the square (top half) is the whole image.
    expect(unpadBox([0, 0, 1, 0.5], 4, 2)).toEqual([0, 0, 1, 1]);
    expect(unpadBox([0.25, 0.125, 0.5, 0.25], 4, 2)).toEqual([0.25, 0.25, 0.5, 0.5]);
    expect(unpadBox([0, 0, 1, 1], 2, 4)).toEqual([0, 0, 1, 1]); // clamped: padding on the right
  });

  it('suppresses duplicate boxes per label only', () => {
    const dets = [
      { label: 'cat', score: 0.9, box: [0, 0, 0.5, 0.5] as [number, number, number, number] },
      { label: 'cat', score: 0.6, box: [0.01, 0.01, 0.5, 0.5] as [number, number, number, number] },
      { label: 'dog', score: 0.5, box: [0.01, 0.01, 0.5, 0.5] as [number, number, number, number] },
    ];
    expect(suppressDuplicates(dets, ['cat', 'dog']).map((d) => [d.label, d.score])).toEqual([['cat', 0.9], ['dog', 0.5]]);
  });
});

describe('CLIP labels', () => {
  it('dedupes labels, picks a template, ranks scores', () => {
    expect(normaliseLabels([' cat', 'Cat', 'dog ', '', 'hot  dog'])).toEqual(['cat', 'dog', 'hot dog']);
    expect(hypothesisTemplate(['cat', 'dog'])).toBe('a photo of {}.');
    expect(hypothesisTemplate(['a photo taken at night in the rain'])).toBe('{}');
    expect(rankScores([{ label: 'a', score: 0.1 }, { label: 'b', score: 0.876543 }])).toEqual([{ label: 'b', score: 0.8765 }, { label: 'a', score: 0.1 }]);
  });
});
