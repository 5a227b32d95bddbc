/**
 * Streaming reader for multipart uploads, `multipart/related` (Google's own format: a JSON
 * metadata part, then the media part) and `multipart/form-data` (a `metadata` field and a
 * `file` field, as some clients send). Built on multipasta's push parser, which takes any
 * multipart subtype and hands over part bodies in pieces: the media part is written out as
 * it arrives, one network chunk at a time, never held whole in memory.
 */
import * as Multipasta from 'multipasta';
import { invalidArgument, type ApiError } from '../errors.js';
import { JsonSyntaxError, parseLenientJson } from '../wire/lenient-json.js';
import { cleanMimeType, parseFileMetadata, type FileMetadataInput } from './wire.js';

export interface MultipartSink {
  /**
   * Called as soon as the metadata part has been read; a returned promise is awaited before
   * more media bytes are written (a name check against the store fails the upload early).
   */
  onMetadata?(metadata: FileMetadataInput): void | Promise<void>;
  /** Receives the media part's bytes in order. */
  write(chunk: Uint8Array): Promise<void>;
}

export interface MultipartResult {
  metadata: FileMetadataInput;
  /** The media part's own Content-Type, when it had one. */
  mediaMimeType: string | undefined;
}

const MAX_METADATA_BYTES = 1024 * 1024;
const MAX_PARTS = 16;
/** Plain form fields accepted in place of a JSON metadata part. */
const FORM_FIELDS: Record<string, keyof FileMetadataInput> = {
  name: 'name',
  displayName: 'displayName',
  display_name: 'displayName',
  mimeType: 'mimeType',
  mime_type: 'mimeType',
};
const MEDIA_FIELDS = new Set(['file', 'media', 'data', 'content', 'blob', 'image']);

export function isMultipart(contentType: string | undefined): boolean {
  return /^\s*multipart\//i.test(contentType ?? '');
}

function describe(err: Multipasta.MultipartError): string {
  switch (err._tag) {
    case 'InvalidBoundary':
      return 'The multipart Content-Type has no boundary parameter.';
    case 'BadHeaders':
      return 'A part of the multipart body has malformed headers.';
    case 'InvalidDisposition':
      return 'A form-data part has no name in its Content-Disposition.';
    case 'ReachedLimit':
      return err.limit === 'MaxParts'
        ? `The multipart body has more than ${MAX_PARTS} parts.`
        : `The metadata part of the multipart body is larger than ${MAX_METADATA_BYTES} bytes.`;
    case 'EndNotReached':
      return 'The multipart body ended before its closing boundary.';
  }
}

export async function readMultipartUpload(
  contentType: string,
  body: AsyncIterable<Uint8Array>,
  sink: MultipartSink,
): Promise<MultipartResult> {
  const formData = /^\s*multipart\/form-data/i.test(contentType);
  let index = 0;
  let metadata: FileMetadataInput = {};
  let metadataSeen = false;
  let mediaSeen = false;
  let mediaMimeType: string | undefined;
  let error: ApiError | undefined;
  let done = false;
  /** Media bytes the parser produced from the current network chunk, written before the next. */
  const pending: Uint8Array[] = [];
  /** The sink's check of the metadata, when it is asynchronous. */
  let checking: Promise<void> | undefined;
  const fail = (e: ApiError): void => {
    error ??= e;
  };

  const classify = (info: Multipasta.PartInfo): 'metadata' | 'field' | 'media' => {
    const first = index++ === 0;
    const explicitType = info.headers['content-type'] !== undefined;
    const json = explicitType && /json/i.test(info.contentType);
    if (formData) {
      // `curl -F metadata=@meta.json` gives the metadata a filename too: the name decides.
      if (info.name === 'metadata') return 'metadata';
      if (info.filename !== undefined || MEDIA_FIELDS.has(info.name)) return 'media';
      return json ? 'metadata' : 'field';
    }
    if (info.filename !== undefined) return 'media';
    if (!metadataSeen && !mediaSeen && (json || (first && !explicitType))) return 'metadata';
    return 'media';
  };
  const kinds = new WeakMap<Multipasta.PartInfo, 'metadata' | 'field' | 'media'>();

  const parser = Multipasta.make({
    headers: { 'content-type': contentType },
    maxParts: MAX_PARTS,
    maxFieldSize: MAX_METADATA_BYTES,
    isFile: (info) => {
      const kind = classify(info);
      kinds.set(info, kind);
      return kind === 'media';
    },
    onField: (info, value) => {
      if (error) return;
      const text = Multipasta.decodeField(info, value);
      try {
        if (kinds.get(info) === 'field') {
          const key = FORM_FIELDS[info.name];
          if (key && key !== 'sizeBytes') metadata = { ...metadata, [key]: text };
          return;
        }
        if (metadataSeen) throw invalidArgument('The multipart body has more than one metadata part.');
        metadataSeen = true;
        let parsed: unknown;
        try {
          parsed = text.trim() === '' ? undefined : parseLenientJson(text);
        } catch (err) {
          const reason = err instanceof JsonSyntaxError ? err.message : String(err);
          throw invalidArgument(`Invalid JSON payload received in the metadata part. ${reason}`);
        }
        metadata = { ...metadata, ...definedOnly(parseFileMetadata(parsed)) };
        const check = sink.onMetadata?.(metadata);
        if (check) checking = check.catch((err: unknown) => fail(err as ApiError));
      } catch (err) {
        fail(err as ApiError);
      }
    },
    onFile: (info) => {
      if (mediaSeen) {
        fail(invalidArgument('The multipart body has more than one media part.'));
        return () => undefined;
      }
      mediaSeen = true;
      if (info.headers['content-type'] !== undefined) mediaMimeType = cleanMimeType(info.contentType);
      return (chunk) => {
        if (chunk !== null && chunk.length > 0) pending.push(chunk);
      };
    },
    onError: (err) => fail(invalidArgument(`Invalid multipart body: ${describe(err)}`)),
    onDone: () => {
      done = true;
    },
  });

  for await (const chunk of body) {
    if (done) continue; // the epilogue after the closing boundary is ignored
    parser.write(chunk);
    if (checking) await checking;
    if (error) throw error;
    for (const piece of pending.splice(0)) await sink.write(piece);
  }
  if (!done) parser.end();
  if (checking) await checking;
  if (error) throw error;
  if (!mediaSeen) throw invalidArgument('The multipart body has no media part (the file bytes).');
  return { metadata, mediaMimeType };
}

function definedOnly(m: FileMetadataInput): FileMetadataInput {
  return Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)) as FileMetadataInput;
}
