/**
 * Fits an answer to the caller's JSON Schema. Fields are filled from facts by what their
 * names and types ask for (a list of boxes, a count, a caption, a label, text, colours, a
 * yes/no); what no fact can fill is left out, and the caller validates the result, so a
 * schema the models cannot satisfy is reported rather than filled with invented values.
 */
import type { JsonSchema } from '../../wire/schema.js';
import type { Answer } from './answer.js';
import { toBox2d } from './answer.js';
import type { RequestFacts } from './facts.js';
import { labelName } from './labels.js';

export interface ShapeSources {
  answer: Answer;
  facts: RequestFacts;
  /** The prose answer, for free-text fields. */
  prose: string;
}

type Schema = JsonSchema & {
  type?: string | string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  enum?: unknown[];
  required?: string[];
  anyOf?: Schema[];
};

const typeOf = (s: Schema): string | undefined => (Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type);

export function shapeToSchema(schema: JsonSchema, src: ShapeSources): unknown {
  return fill(schema as Schema, '', src);
}

function fill(s: Schema, name: string, src: ShapeSources): unknown {
  if (s.anyOf?.length) return fill(s.anyOf[0]!, name, src);
  const key = name.toLowerCase();
  const objects = src.facts.images.flatMap((img) => img.objects);
  const labels = [...new Set(objects.map((o) => labelName(o.label, 'en')))];
  switch (typeOf(s)) {
    case 'array': {
      const item = s.items ?? {};
      if (typeOf(item) === 'object') {
        const props = Object.keys(item.properties ?? {});
        if (props.includes('box_2d') || props.includes('label')) {
          const data = Array.isArray(src.answer.data) ? (src.answer.data as Array<Record<string, unknown>>) : undefined;
          const rows =
            data && data.length && typeof data[0] === 'object'
              ? data
              : objects.map((o) => ({ box_2d: toBox2d(o.box), label: labelName(o.label, 'en') }));
          return rows.map((row) => pick(item, row, src));
        }
        if (Array.isArray(src.answer.data)) return (src.answer.data as Array<Record<string, unknown>>).map((row) => pick(item, row, src));
        return [];
      }
      if (typeOf(item) === 'string') {
        if (/text|line|word/.test(key)) return src.facts.images.flatMap((img) => (img.text ?? []).map((l) => l.text));
        if (/colou?r/.test(key)) return src.facts.images.flatMap((img) => img.colours.map((c) => c.name));
        if (item.enum) return labels.filter((l) => item.enum!.includes(l));
        return labels;
      }
      if (typeOf(item) === 'integer' && /box/.test(key)) return objects[0] ? toBox2d(objects[0].box) : [];
      return [];
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, child] of Object.entries(s.properties ?? {})) {
        const v = fill(child, k, src);
        if (v !== undefined) out[k] = v;
      }
      return out;
    }
    case 'integer':
    case 'number': {
      if (/count|number|total|how_?many|quantity/.test(key)) {
        const data = src.answer.data;
        if (data && typeof data === 'object' && !Array.isArray(data)) {
          const counts = Object.values(data as Record<string, unknown>).filter((v): v is number => typeof v === 'number');
          if (counts.length) return counts.reduce((a, b) => a + b, 0);
        }
        return objects.length;
      }
      const img = src.facts.images[0];
      if (img && /width/.test(key)) return img.width;
      if (img && /height/.test(key)) return img.height;
      if (img && /bright/.test(key)) return img.brightness;
      return undefined;
    }
    case 'boolean': {
      const data = src.answer.data;
      if (data && typeof data === 'object' && !Array.isArray(data)) {
        const bools = Object.values(data as Record<string, unknown>).filter((v): v is boolean => typeof v === 'boolean');
        if (bools.length) return bools.every(Boolean);
      }
      return undefined;
    }
    case 'string': {
      if (s.enum) {
        const options = s.enum.filter((e): e is string => typeof e === 'string');
        // A yes/no answer picks the enum's yes or no by its verdict, not by words in the prose.
        const verdict = (src.answer.data as { answer?: unknown } | undefined)?.answer;
        if (typeof verdict === 'boolean') {
          const want = verdict ? /^(yes|true|是|有)$/i : /^(no|false|否|不是|沒有|没有)$/i;
          const pick = options.find((o) => want.test(o.trim()));
          if (pick) return pick;
        }
        const hit = options.find((o) => typeof src.answer.data === 'string' && o.toLowerCase() === src.answer.data.toLowerCase())
          ?? options.find((o) => labels.includes(o.toLowerCase()))
          ?? options.find((o) => src.prose.toLowerCase().includes(o.toLowerCase()));
        return hit;
      }
      if (/^label$|class|category|object|name/.test(key)) return labels[0];
      if (/text|ocr|reads?/.test(key)) {
        const t = src.facts.images.flatMap((img) => (img.text ?? []).map((l) => l.text)).join('\n');
        return t || undefined;
      }
      if (/colou?r/.test(key)) return src.facts.images[0]?.colours[0]?.name;
      if (/mask/.test(key)) return undefined;
      return src.prose || undefined;
    }
    default:
      return undefined;
  }
}

/** One row of a list, keeping the schema's properties that the row (or facts) can fill. */
function pick(item: Schema, row: Record<string, unknown>, src: ShapeSources): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, child] of Object.entries(item.properties ?? {})) {
    if (row[k] !== undefined) out[k] = row[k];
    else if (k === 'ymin' || k === 'xmin' || k === 'ymax' || k === 'xmax') {
      const box = row.box_2d as number[] | undefined;
      if (box) out[k] = box[['ymin', 'xmin', 'ymax', 'xmax'].indexOf(k)];
    } else if (/label|name|class/.test(k) && row.label !== undefined) out[k] = row.label;
    else if (/text/.test(k) && row.text !== undefined) out[k] = row.text;
    else {
      const v = typeOf(child) === 'string' && child.enum ? fill(child, k, src) : undefined;
      if (v !== undefined) out[k] = v;
    }
  }
  return out;
}
