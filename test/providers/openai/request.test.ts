import { describe, expect, it } from 'vitest';
import type { InputTurn } from '../../../src/seam/request.js';
import type { DecodedImage } from '../../../src/media/decode.js';
import { buildChatRequest, finishAnswer, formatOf, samplingOf, toMessages } from '../../../src/providers/openai/request.js';
import type { EncodedImage } from '../../../src/providers/openai/images.js';

const img = (label: string): Extract<InputTurn['parts'][number], { kind: 'image' }> => ({ kind: 'image', label, image: {} as DecodedImage });
const enc = (n: number): EncodedImage => ({ url: `data:image/jpeg;base64,IMG${n}`, width: n, height: n });

describe('turns → messages', () => {
  it('keeps the order of text and images, maps model to assistant and puts the system instruction first', () => {
    const turns: InputTurn[] = [
      { role: 'user', parts: [img('a'), { kind: 'text', text: 'What is this?' }, img('b')] },
      { role: 'model', parts: [{ kind: 'text', text: 'Two ' }, { kind: 'text', text: 'dogs.' }] },
      { role: 'user', parts: [{ kind: 'text', text: 'And now?' }, img('c')] },
    ];
    expect(toMessages(turns, [enc(1), enc(2), enc(3)], 'Be brief.')).toEqual([
      { role: 'system', content: 'Be brief.' },
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,IMG1' } },
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,IMG2' } },
        ],
      },
      { role: 'assistant', content: 'Two dogs.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'And now?' },
          { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,IMG3' } },
        ],
      },
    ]);
  });

  it('sends text-only user turns as plain strings and no system message when there is none', () => {
    expect(toMessages([{ role: 'user', parts: [{ kind: 'text', text: 'a' }, { kind: 'text', text: 'b' }] }], [])).toEqual([{ role: 'user', content: 'a\nb' }]);
  });

  it('refuses to build a message with an image that was not encoded', () => {
    expect(() => toMessages([{ role: 'user', parts: [img('a')] }], [])).toThrow(/not encoded/);
  });
});

describe('generationConfig → sampling', () => {
  it('maps every field it can and leaves the rest to the server', () => {
    expect(
      samplingOf({ temperature: 0.2, topP: 0.9, topK: 40, maxOutputTokens: 128, stopSequences: ['END'], seed: 7, presencePenalty: 0.5, frequencyPenalty: 0.1, candidateCount: 1 }),
    ).toEqual({ temperature: 0.2, top_p: 0.9, top_k: 40, max_tokens: 128, stop: ['END'], seed: 7, presence_penalty: 0.5, frequency_penalty: 0.1 });
    expect(samplingOf(undefined)).toEqual({});
    expect(samplingOf({ temperature: 0 })).toEqual({ temperature: 0 });
    expect(samplingOf({ stopSequences: [] })).toEqual({});
  });
});

describe('output format → response_format', () => {
  const schema = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };

  it('JSON with a schema → json_schema, unless the server cannot take it', () => {
    expect(formatOf({ mimeType: 'application/json', jsonSchema: schema }, {})).toEqual({
      responseFormat: { type: 'json_schema', json_schema: { name: 'response', schema } },
    });
    const off = formatOf({ mimeType: 'application/json', jsonSchema: schema }, { jsonSchema: false });
    expect(off.responseFormat).toEqual({ type: 'json_object' });
    expect(off.instruction).toContain(JSON.stringify(schema));
  });

  it('JSON without a schema → json_object and the word JSON in the prompt', () => {
    expect(formatOf({ mimeType: 'application/json' }, {})).toEqual({ responseFormat: { type: 'json_object' }, instruction: 'Answer only with JSON.' });
  });

  it('enum → a json_schema of the enum, or an instruction naming the values', () => {
    const output = { mimeType: 'text/x.enum', jsonSchema: { type: 'string', enum: ['cat', 'dog'] } };
    expect(formatOf(output, {})).toEqual({ responseFormat: { type: 'json_schema', json_schema: { name: 'response', schema: { type: 'string', enum: ['cat', 'dog'] } } } });
    expect(formatOf(output, { jsonSchema: false })).toEqual({ instruction: 'Answer with exactly one of these values and nothing else: cat, dog' });
  });

  it('plain text asks for nothing', () => {
    expect(formatOf({ mimeType: 'text/plain' }, {})).toEqual({});
  });
});

describe('the whole body', () => {
  it('streams with usage, carries the model, sampling and format; the format instruction joins the system message', () => {
    const body = buildChatRequest({
      spec: { model: 'qwen2.5vl:7b', jsonSchema: false },
      turns: [{ role: 'user', parts: [img('a'), { kind: 'text', text: 'Count the dogs.' }] }],
      images: [enc(5)],
      systemInstruction: 'You count things.',
      output: { mimeType: 'application/json' },
      generationConfig: { temperature: 0, maxOutputTokens: 50 },
      stream: true,
    });
    expect(body).toEqual({
      model: 'qwen2.5vl:7b',
      messages: [
        { role: 'system', content: 'You count things.\n\nAnswer only with JSON.' },
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/jpeg;base64,IMG5' } }, { type: 'text', text: 'Count the dogs.' }] },
      ],
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0,
      max_tokens: 50,
      response_format: { type: 'json_object' },
    });
    expect(buildChatRequest({ spec: { model: 'm' }, turns: [], images: [], output: { mimeType: 'text/plain' }, stream: false })).toEqual({
      model: 'm',
      messages: [],
      stream: false,
    });
  });
});

describe('the answer as Gemini returns it', () => {
  it('JSON loses a Markdown fence, keeps everything else', () => {
    expect(finishAnswer('```json\n{"n": 2}\n```', { mimeType: 'application/json' })).toBe('{"n": 2}');
    expect(finishAnswer('{"n": 2}', { mimeType: 'application/json' })).toBe('{"n": 2}');
    expect(finishAnswer('```json\n{"n": 2}\n```', { mimeType: 'text/plain' })).toBe('```json\n{"n": 2}\n```');
  });

  it('enum answers lose JSON quotes, stray punctuation and case differences', () => {
    const output = { mimeType: 'text/x.enum', jsonSchema: { type: 'string', enum: ['cat', 'dog'] } };
    expect(finishAnswer('"dog"', output)).toBe('dog');
    expect(finishAnswer(' Dog.\n', output)).toBe('dog');
    expect(finishAnswer('horse', output)).toBe('horse'); // not a value: left for the service to refuse
  });
});
