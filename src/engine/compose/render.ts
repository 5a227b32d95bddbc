/**
 * An Answer in the requested output format, as the pieces a stream sends:
 * - application/json: the raw JSON (shaped to the schema when one is given);
 * - text/x.enum: the one enum value the facts support;
 * - text/plain: sentences, and for data answers (boxes, masks) a ```json fenced block,
 *   which is what Gemini writes and what the guide's parsing code looks for.
 */
import type { OutputFormat } from '../../seam/request.js';
import type { Lang } from '../language.js';
import type { Answer } from './answer.js';
import type { RequestFacts } from './facts.js';
import { shapeToSchema } from './shape.js';

export function proseOf(answer: Answer, lang: Lang): string {
  return answer.sentences.join(lang === 'en' ? ' ' : '');
}

export function renderAnswer(answer: Answer, facts: RequestFacts, output: OutputFormat, lang: Lang, jsonInPrompt: boolean): string[] {
  const prose = proseOf(answer, lang);
  if (output.mimeType === 'text/x.enum') {
    const shaped = shapeToSchema(output.jsonSchema ?? { type: 'string' }, { answer, facts, prose });
    return [typeof shaped === 'string' ? shaped : prose];
  }
  if (output.mimeType === 'application/json') {
    const value = output.jsonSchema
      ? shapeToSchema(output.jsonSchema, { answer, facts, prose })
      : answer.data !== undefined
        ? answer.data
        : { answer: prose };
    return chunkJson(JSON.stringify(value));
  }
  if (answer.data !== undefined && (answer.dataIsAnswer || jsonInPrompt)) {
    const pieces = answer.sentences.map((s, i) => (i === 0 ? s : (lang === 'en' ? ' ' : '') + s));
    const fence = ['```json', ...jsonLines(answer.data), '```'];
    return [...pieces.map((p, i) => (i === pieces.length - 1 ? `${p}\n\n` : p)), ...fence.map((line, i) => (i === fence.length - 1 ? line : `${line}\n`))];
  }
  return answer.sentences.map((s, i) => (i === 0 ? s : (lang === 'en' ? ' ' : '') + s));
}

/** Splits JSON text into a few stream pieces at safe points (after commas). */
function chunkJson(text: string, target = 2048): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + target);
    if (end < text.length) {
      const comma = text.indexOf(',', end);
      end = comma < 0 ? text.length : comma + 1;
    }
    out.push(text.slice(start, end));
    start = end;
  }
  return out;
}

/** JSON as Gemini writes it in a fence: one list item per line, each item compact. */
function jsonLines(value: unknown): string[] {
  if (!Array.isArray(value)) return JSON.stringify(value, null, 2).split('\n');
  if (value.length === 0) return ['[]'];
  return ['[', ...value.map((v, i) => `  ${JSON.stringify(v)}${i < value.length - 1 ? ',' : ''}`), ']'];
}
