/**
 * The Files API on the wire: the metadata a client sends (`{file: {...}}`, keys in any
 * case, Gemini's "Unknown name" answer for fields it does not know) and the File resource
 * sent back. Pure functions; no storage.
 */
import { invalidArgument } from '../errors.js';
import { normaliseKeys, snakeToCamel } from '../wire/keys.js';
import type { FileRecord } from './store.js';

/** Metadata a client may give for a file (already key-normalised). */
export interface FileMetadataInput {
  name?: string | undefined;
  displayName?: string | undefined;
  mimeType?: string | undefined;
  sizeBytes?: number | undefined;
}

/** Strips parameters and case: `Image/PNG; q=1` → `image/png`. Empty stays empty. */
export function cleanMimeType(mime: string | undefined): string | undefined {
  const m = (mime ?? '').split(';')[0]!.trim().toLowerCase();
  return m === '' ? undefined : m;
}

/**
 * `{file: {...}}` (or the bare object) from a parsed body, keys in any case. Throws
 * 400 naming the field for wrong types.
 */
export function parseFileMetadata(body: unknown): FileMetadataInput {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw invalidArgument('Invalid JSON payload received. Expected an object with a "file" field.');
  const top = normaliseKeys(body) as Record<string, unknown>;
  const wrapped = top.file !== undefined;
  if (wrapped) rejectUnknown(body as Record<string, unknown>, top, CREATE_FILE_FIELDS, '');
  const raw = wrapped ? top.file : top;
  if (raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw invalidArgument('Invalid value at \'file\': expected an object.', 'file');
  const f = raw as Record<string, unknown>;
  const sent = wrapped ? fieldOf(body as Record<string, unknown>, 'file') : body;
  rejectUnknown(sent as Record<string, unknown>, f, FILE_FIELDS, wrapped ? 'file' : '');
  const str = (key: string): string | undefined => {
    const v = f[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw invalidArgument(`Invalid value at 'file.${key}': expected a string.`, `file.${key}`);
    return v;
  };
  let sizeBytes: number | undefined;
  const sb = f.sizeBytes;
  if (sb !== undefined && sb !== null) {
    const n = typeof sb === 'string' && sb.trim() !== '' ? Number(sb) : sb;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
      throw invalidArgument("Invalid value at 'file.sizeBytes': expected a non-negative integer.", 'file.sizeBytes');
    sizeBytes = n;
  }
  return { name: str('name'), displayName: str('displayName'), mimeType: str('mimeType'), sizeBytes };
}

/** Fields of Gemini's File resource (output-only ones too: a client may send a File back). */
const FILE_FIELDS = new Set([
  'name',
  'displayName',
  'mimeType',
  'sizeBytes',
  'createTime',
  'updateTime',
  'expirationTime',
  'sha256Hash',
  'uri',
  'downloadUri',
  'state',
  'source',
  'error',
  'videoMetadata',
]);
const CREATE_FILE_FIELDS = new Set(['file']);

/** The value of `key` in the body as sent (snake or camel case). */
function fieldOf(sent: Record<string, unknown>, key: string): unknown {
  for (const [k, v] of Object.entries(sent)) if (snakeToCamel(k) === key) return v;
  return undefined;
}

/**
 * Gemini's answer to a field it does not know: 400 `Unknown name "x" at 'file': Cannot find
 * field.`, echoing the key as the client sent it (`sent` is the object before key
 * normalisation, `normalised` after).
 */
function rejectUnknown(sent: Record<string, unknown>, normalised: Record<string, unknown>, known: Set<string>, at: string): void {
  for (const key of Object.keys(normalised)) {
    if (known.has(key)) continue;
    const name = Object.keys(sent ?? {}).find((k) => snakeToCamel(k) === key) ?? key;
    const where = at ? ` at '${at}'` : '';
    throw invalidArgument(`Invalid JSON payload received. Unknown name ${JSON.stringify(name)}${where}: Cannot find field.`, at || undefined);
  }
}

/** The File resource exactly as Gemini sends it (camelCase, int64 as string, RFC 3339). */
export interface FileResource {
  name: string;
  displayName?: string;
  mimeType: string;
  sizeBytes: string;
  createTime: string;
  updateTime: string;
  expirationTime: string;
  sha256Hash?: string;
  uri: string;
  state: string;
  source: 'UPLOADED';
  error?: { code: number; message: string; details: unknown[] };
}

export function toFileResource(rec: FileRecord, publicBase: string, version: string): FileResource {
  const out: FileResource = {
    name: `files/${rec.id}`,
    ...(rec.displayName !== undefined ? { displayName: rec.displayName } : {}),
    mimeType: rec.mimeType,
    sizeBytes: String(rec.sizeBytes),
    createTime: new Date(rec.createTime).toISOString(),
    updateTime: new Date(rec.updateTime).toISOString(),
    expirationTime: new Date(rec.expirationTime).toISOString(),
    ...(rec.sha256Hex ? { sha256Hash: Buffer.from(rec.sha256Hex, 'hex').toString('base64') } : {}),
    uri: `${publicBase}/${version}/files/${rec.id}`,
    state: rec.state,
    source: 'UPLOADED',
  };
  if (rec.state === 'FAILED') out.error = { code: 3, message: rec.errorMessage ?? 'File processing failed.', details: [] };
  return out;
}

