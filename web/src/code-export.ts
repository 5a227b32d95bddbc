/**
 * "Copy as code": the request the page would send, as curl, JavaScript (@google/genai) and
 * Python (google-genai), pointed at this server. Each runs as is: images are embedded as
 * base64, or (with `embed` off) read from files of the same names in the working
 * directory. The generated code asks generateContent (not the stream), so its output is
 * the whole answer at once.
 */
import type { GenerateRequest, Part } from './api.js';
import type { ImageInput } from './request.js';

export interface ExportInput {
  /** The server's base URL, as the page sees it. */
  base: string;
  model: string;
  apiKey: string;
  request: GenerateRequest;
  /** The images of the request, in order, for their file names when not embedded. */
  images: ImageInput[];
  /** Embed the bytes of inline images (self-contained) or read them from files by name. */
  embed: boolean;
}

export type Language = 'curl' | 'javascript' | 'python';

export function exportCode(lang: Language, input: ExportInput): string {
  if (lang === 'curl') return toCurl(input);
  if (lang === 'javascript') return toJavaScript(input);
  return toPython(input);
}

/** A string as one shell word, in single quotes. */
export const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Inline images in request order: the n-th inline part is the n-th of these. */
const inlineImages = (input: ExportInput) => input.images.filter((i) => i.source.kind === 'inline');

function toCurl(input: ExportInput): string {
  const url = `${input.base}/v1beta/models/${input.model}:generateContent`;
  const head = [
    `curl -sS ${shellQuote(url)}`,
    `  -H 'Content-Type: application/json'`,
    ...(input.apiKey ? [`  -H ${shellQuote(`x-goog-api-key: ${input.apiKey}`)}`] : []),
    // The body comes on stdin: a photo's base64 is longer than one command-line argument may be.
    `  --data-binary @- <<`,
  ];
  if (input.embed || inlineImages(input).length === 0) {
    // A quoted delimiter: nothing in the body is expanded by the shell.
    return `${head.join(' \\\n')}'JSON'\n${JSON.stringify(input.request, null, 2)}\nJSON\n`;
  }
  // Unquoted delimiter so $(base64 …) runs; every other $, ` and \ of the JSON is escaped.
  const names = inlineImages(input).map((i) => i.name);
  let n = 0;
  const withMarkers = JSON.stringify(mapInline(input.request, () => `@@IMAGE_${n++}@@`), null, 2);
  const escaped = withMarkers.replace(/[\\$`]/g, (c) => `\\${c}`);
  const body = escaped.replace(/@@IMAGE_(\d+)@@/g, (_m, i: string) => `$(base64 -w0 ${shellQuote(names[Number(i)]!)})`);
  return `${head.join(' \\\n')}JSON\n${body}\nJSON\n`;
}

/** The request with each inline part's data replaced. */
function mapInline(request: GenerateRequest, data: (part: Part) => string): GenerateRequest {
  return {
    ...request,
    contents: request.contents.map((c) => ({
      ...c,
      parts: c.parts.map((p) => (p.inlineData ? { inlineData: { ...p.inlineData, data: data(p) } } : p)),
    })),
  };
}

const js = (v: unknown): string => JSON.stringify(v);

function toJavaScript(input: ExportInput): string {
  const readsFiles = !input.embed && inlineImages(input).length > 0;
  const names = inlineImages(input).map((i) => i.name);
  let n = 0;
  const parts = (input.request.contents[0]?.parts ?? []).map((p) => {
    if (p.inlineData) {
      const name = names[n++]!;
      const data = input.embed ? js(p.inlineData.data) : `readFileSync(${js(name)}).toString('base64')`;
      return `        { inlineData: { mimeType: ${js(p.inlineData.mimeType)}, data: ${data} } },`;
    }
    if (p.fileData) return `        { fileData: { mimeType: ${js(p.fileData.mimeType)}, fileUri: ${js(p.fileData.fileUri)} } },`;
    return `        { text: ${js(p.text ?? '')} },`;
  });
  const config = input.request.generationConfig;
  return [
    `// Node 20+: npm install @google/genai, save as request.mjs, run: node request.mjs`,
    `import { GoogleGenAI } from '@google/genai';`,
    ...(readsFiles ? [`import { readFileSync } from 'node:fs';`] : []),
    ``,
    `const ai = new GoogleGenAI({`,
    // The SDK insists on a key; a server without keys accepts any.
    `  apiKey: ${js(input.apiKey || 'any-key')},`,
    `  httpOptions: { baseUrl: ${js(input.base)}, apiVersion: 'v1beta' },`,
    `});`,
    ``,
    `const response = await ai.models.generateContent({`,
    `  model: ${js(input.model)},`,
    `  contents: [`,
    `    {`,
    `      role: 'user',`,
    `      parts: [`,
    ...parts,
    `      ],`,
    `    },`,
    `  ],`,
    ...(config ? [`  config: ${JSON.stringify(config, null, 2).replace(/\n/g, '\n  ')},`] : []),
    `});`,
    `console.log(response.text);`,
    ``,
  ].join('\n');
}

/** A JSON value as a Python literal (True/False/None; JSON strings are valid Python strings). */
export function py(v: unknown, indent = ''): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number' || typeof v === 'string') return JSON.stringify(v);
  const inner = `${indent}    `;
  if (Array.isArray(v)) return v.length ? `[\n${v.map((x) => `${inner}${py(x, inner)},`).join('\n')}\n${indent}]` : '[]';
  const entries = Object.entries(v as Record<string, unknown>);
  return entries.length ? `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${py(x, inner)},`).join('\n')}\n${indent}}` : '{}';
}

function toPython(input: ExportInput): string {
  const names = inlineImages(input).map((i) => i.name);
  let n = 0;
  const parts = (input.request.contents[0]?.parts ?? []).map((p) => {
    if (p.inlineData) {
      const name = names[n++]!;
      const data = input.embed ? `base64.b64decode(${js(p.inlineData.data)})` : `open(${js(name)}, "rb").read()`;
      return `        types.Part.from_bytes(data=${data}, mime_type=${js(p.inlineData.mimeType)}),`;
    }
    if (p.fileData) return `        types.Part.from_uri(file_uri=${js(p.fileData.fileUri)}, mime_type=${js(p.fileData.mimeType)}),`;
    return `        ${js(p.text ?? '')},`;
  });
  const config = input.request.generationConfig;
  const configArgs = [
    ...(config?.responseMimeType ? [`response_mime_type=${js(config.responseMimeType)}`] : []),
    ...(config?.responseSchema !== undefined ? [`response_schema=${py(config.responseSchema, '        ')}`] : []),
  ];
  return [
    `# pip install google-genai, save as request.py, run: python request.py`,
    ...(input.embed && names.length ? ['import base64', ''] : []),
    `from google import genai`,
    `from google.genai import types`,
    ``,
    // The SDK insists on a key; a server without keys accepts any.
    `client = genai.Client(api_key=${js(input.apiKey || 'any-key')}, http_options=types.HttpOptions(base_url=${js(input.base)}, api_version="v1beta"))`,
    ``,
    `response = client.models.generate_content(`,
    `    model=${js(input.model)},`,
    `    contents=[`,
    ...parts,
    `    ],`,
    ...(configArgs.length ? [`    config=types.GenerateContentConfig(`, ...configArgs.map((a) => `        ${a},`), `    ),`] : []),
    `)`,
    `print(response.text)`,
    ``,
  ].join('\n');
}
