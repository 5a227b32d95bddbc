/**
 * The request Ocellus forwards to upstream Gemini: the client's own GenerateContentRequest
 * (already validated and camelCased, which is what Gemini accepts), with file references
 * to Ocellus's Files API swapped for the upstream copies. Nothing else is rewritten, so
 * every field the upstream understands (tools, thinkingConfig, responseSchema, per-part
 * mediaResolution, …) reaches it as the client wrote it.
 */
import { parseFileRef } from '../../wire/file-ref.js';
import type { GenerateContentRequest, WireContent, WirePart } from '../../wire/request.js';

export type FileUriKind =
  /** A file of this server's Files API: mirror it upstream. `ref` is what openForGeneration takes. */
  | { kind: 'local'; ref: string }
  /** Already an upstream file, or an external URL the upstream fetches itself: forward unchanged. */
  | { kind: 'forward' };

/**
 * Whether a `fileData.fileUri` names one of our files. Ours are `files/{id}` and any URL
 * ending in `/files/{id}` (our `uri` as clients get it, whatever host or version they used),
 * exactly the forms the Files service resolves; a URL on the upstream's own origin is an
 * upstream file the client uploaded there directly.
 */
export function classifyFileUri(fileUri: string, upstreamOrigin: string): FileUriKind {
  const uri = fileUri.trim();
  let origin: string | undefined;
  try {
    origin = new URL(uri).origin;
  } catch {
    origin = undefined; // `files/abc` is not a URL
  }
  if (origin !== undefined && origin === upstreamOrigin) return { kind: 'forward' };
  if (origin !== undefined && !/^https?:/i.test(uri)) return { kind: 'forward' }; // gs://, data:, …
  return parseFileRef(uri) !== undefined ? { kind: 'local', ref: uri } : { kind: 'forward' };
}

/** The upstream copy of a file, as it goes into `fileData`. */
export interface UpstreamFileRef {
  uri: string;
  mimeType: string;
}

/** Every distinct `fileData.fileUri` of the request (contents and systemInstruction), in order. */
export function fileUrisOf(wire: GenerateContentRequest): string[] {
  const seen = new Set<string>();
  const visit = (c: { parts: WirePart[] } | undefined) => c?.parts.forEach((p) => p.fileData && seen.add(p.fileData.fileUri));
  wire.contents.forEach(visit);
  visit(wire.systemInstruction);
  return [...seen];
}

/**
 * The body for `:streamGenerateContent`. `mirrors` maps a client fileUri to its upstream
 * copy; other parts are forwarded as they are. Two fields change on purpose:
 *  - `model` goes in the URL, not the body;
 *  - `candidateCount` is dropped: the generate service asks the provider once per candidate
 *    and reads one answer each time, so forwarding it would pay upstream for candidates
 *    that are thrown away.
 */
export function buildUpstreamRequest(wire: GenerateContentRequest, mirrors: ReadonlyMap<string, UpstreamFileRef>): Record<string, unknown> {
  const { model: _model, contents, systemInstruction, generationConfig, ...rest } = wire;
  const mapPart = (part: WirePart): WirePart => {
    const mirror = part.fileData ? mirrors.get(part.fileData.fileUri) : undefined;
    if (!part.fileData || !mirror) return part;
    return { ...part, fileData: { ...part.fileData, fileUri: mirror.uri, mimeType: part.fileData.mimeType || mirror.mimeType } };
  };
  const mapContent = <C extends { parts: WirePart[] }>(c: C): C => ({ ...c, parts: c.parts.map(mapPart) });
  const out: Record<string, unknown> = { contents: contents.map((c: WireContent) => mapContent(c)), ...rest };
  if (systemInstruction) out.systemInstruction = mapContent(systemInstruction);
  if (generationConfig) {
    const { candidateCount: _n, ...config } = generationConfig;
    if (Object.keys(config).length) out.generationConfig = config;
  }
  return out;
}
