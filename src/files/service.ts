/**
 * The Files API: uploads (resumable sessions and single-request uploads), the file
 * lifecycle (PROCESSING → ACTIVE | FAILED), names, quotas, expiry, and the lookup the
 * generate path uses for `fileData.fileUri`. HTTP lives in the routes; bytes and records
 * live behind the BlobStore / MetaStore seams (store.ts).
 *
 * Quota behaviour follows Gemini: a file over the per-file limit is 400 INVALID_ARGUMENT;
 * a project over its storage quota is 429 RESOURCE_EXHAUSTED with a QuotaFailure detail
 * naming `FileStorageBytesPerProject` (what the real API answers once 20 GB are in use).
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { Limits } from '../config.js';
import { SUPPORTED_FORMATS_TEXT } from '../media/sniff.js';
import {
  alreadyExists,
  apiError,
  ApiError,
  failedPrecondition,
  fileNotAccessible,
  fileQuotaExceeded,
  invalidArgument,
  notFound,
} from '../errors.js';
import { normaliseKeys, snakeToCamel } from '../wire/keys.js';
import { diskFull, isDiskFull, noDiskGuard, RECHECK_BYTES, type DiskGuard } from './disk-space.js';
import type { FsBlobStore, PartialWriter } from './fs-blob.js';
import type { SqliteFileTables } from './sqlite-meta.js';
import type { FileRecord, NewFileRecord, UploadSession } from './store.js';

// Until the service moves onto the async MetaStore/BlobStore seams it uses the embedded
// stores' synchronous tables and file-system writer directly.
export type BlobStore = FsBlobStore;
export type MetaStore = SqliteFileTables;

export type InspectResult = { ok: true; mimeType: string } | { ok: false; message: string };
/** Checks the bytes at `path` are a usable image; `mimeType` is the sniffed type. */
export type Inspect = (path: string, declaredMimeType: string) => Promise<InspectResult>;

export type FilesLimits = Pick<Limits, 'fileBytes' | 'projectBytes' | 'fileTtlMs' | 'uploadSessionTtlMs' | 'sweepIntervalMs'>;

export interface FilesServiceOptions {
  blobs: BlobStore;
  meta: MetaStore;
  limits: FilesLimits;
  /** Epoch milliseconds; injectable for expiry tests. */
  clock?: () => number;
  inspect: Inspect;
  logger: Logger;
  /** Leftover objects nobody references are removed once they are this old (default 10 min). */
  orphanGraceMs?: number;
  /** Free-space floor for upload bytes (default: none; ENOSPC is still a 503). */
  disk?: DiskGuard;
}

/** Metadata a client may give for a file (already key-normalised). */
export interface FileMetadataInput {
  name?: string | undefined;
  displayName?: string | undefined;
  mimeType?: string | undefined;
  sizeBytes?: number | undefined;
}

export interface StartUploadInput {
  metadata: FileMetadataInput;
  /** X-Goog-Upload-Header-Content-Length; falls back to metadata.sizeBytes. */
  declaredSize?: number | undefined;
  /** X-Goog-Upload-Header-Content-Type; the metadata's mimeType wins. */
  mimeType?: string | undefined;
}

export interface ChunkInput {
  /** X-Goog-Upload-Offset; when absent the bytes are appended at the current end. */
  offset?: number | undefined;
  finalize: boolean;
  /** The request body, streamed (a Readable or any async iterable of bytes). */
  body: AsyncIterable<Uint8Array>;
  /** Content-Length of the body when known: lets limits be checked before reading. */
  contentLength?: number | undefined;
}

export type UploadStatus = { status: 'active'; received: number } | { status: 'final'; received: number; file: FileRecord };

/** A single-request (multipart or raw) upload in progress. */
export interface SingleUpload {
  readonly received: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Commits the bytes as a new file and waits for it to be processed. */
  finish(metadata: FileMetadataInput): Promise<FileRecord>;
  /** Drops the bytes; safe to call more than once and after finish. */
  abort(): Promise<void>;
}

export interface OpenedFile {
  name: string;
  mimeType: string;
  path: string;
  sha256Hex: string;
  sizeBytes: number;
}

export interface FileListResult {
  files: FileRecord[];
  nextPageToken?: string;
}

export interface SweepReport {
  files: number;
  sessions: number;
  orphans: number;
}

export interface FilesService {
  readonly limits: FilesLimits;
  /** Opens a resumable upload session; the returned id is the credential of the upload URL. */
  startResumable(project: string, input: StartUploadInput): { uploadId: string; session: UploadSession };
  uploadChunk(uploadId: string, chunk: ChunkInput): Promise<UploadStatus>;
  queryUpload(uploadId: string): Promise<{ status: 'active' | 'final'; received: number }>;
  cancelUpload(uploadId: string): Promise<void>;
  /** Starts a single-request upload; `contentLength` (when known) is checked against the limits first. */
  beginUpload(
    project: string,
    opts?: { contentLength?: number | undefined; framingBytes?: number | undefined },
  ): Promise<SingleUpload>;
  /** Throws the error finish() would for this metadata (invalid name, duplicate): fail fast. */
  checkMetadata(project: string, metadata: FileMetadataInput): void;
  /** Metadata-only create: a record without bytes, FAILED with an explanation. */
  create(project: string, metadata: FileMetadataInput): FileRecord;
  /** Throws 503 when `bytes` more would take the disk below its free-space floor (fail before a start). */
  ensureDiskSpace(bytes: number): Promise<void>;
  get(project: string, id: string): FileRecord;
  list(project: string, opts: { pageSize?: number | undefined; pageToken?: string | undefined }): FileListResult;
  delete(project: string, id: string): Promise<void>;
  /**
   * For `fileData.fileUri`: `files/{id}`, our absolute uri (any version, any host) or any
   * URL ending in `/files/{id}`. Waits for a PROCESSING file to finish.
   */
  openForGeneration(project: string, ref: string): Promise<OpenedFile>;
  sweep(): Promise<SweepReport>;
  startSweeper(): void;
  /** Stops the sweeper and waits for running work. Does not close the stores. */
  stop(): Promise<void>;
}

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 10;
export const MAX_DISPLAY_NAME = 512;
const FILE_ID = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
const UNSPECIFIED_MIME = 'application/octet-stream';

// ---------------------------------------------------------------------------------------
// Wire helpers: metadata bodies, file references, page tokens, the File resource.

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

// The file-reference forms are a wire fact (wire/file-ref.ts); re-exported for the callers that still import it from here.
import { parseFileRef } from '../wire/file-ref.js';
export { parseFileRef };

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

const encodePageToken = (seq: number): string => Buffer.from(`s${seq}`).toString('base64url');

function decodePageToken(token: string): number {
  const m = /^s(\d{1,15})$/.exec(Buffer.from(token, 'base64url').toString('latin1'));
  if (!m) throw invalidArgument('Invalid page token.', 'pageToken');
  return Number(m[1]);
}

// ---------------------------------------------------------------------------------------
// Errors specific to uploads.

export const uploadNotFound = (): ApiError =>
  notFound('The upload session does not exist, has expired or was cancelled. Start a new upload.');

const tooLarge = (bytes: number, limit: number, declared = false): ApiError =>
  invalidArgument(
    `${declared ? 'Declared file size' : 'File size'} ${bytes} bytes exceeds the maximum of ${limit} bytes per file.`,
  );

/** An error after which an upload cannot go on: its session and bytes are dropped. */
class TerminalUploadError extends Error {
  constructor(readonly apiError: ApiError) {
    super(apiError.message);
  }
}

/** A chunk refused as a whole: its bytes are cut off again, the session and earlier bytes stay. */
class RejectedChunkError extends Error {
  constructor(readonly apiError: ApiError) {
    super(apiError.message);
  }
}

/** The same error with the upload's state in the headers, so a client knows where to resume. */
const withUploadState = (err: ApiError, received: number): ApiError =>
  err.withHeaders({ 'X-Goog-Upload-Status': 'active', 'X-Goog-Upload-Size-Received': String(received) });

/** Runs a store call, turning a full disk (ENOSPC, SQLITE_FULL) into 503. */
function storing<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isDiskFull(err)) throw diskFull();
    throw err;
  }
}

const imagesOnly = (mime: string): string =>
  `Ocellus understands images only; a file of type ${mime} cannot be used. Upload an image (${SUPPORTED_FORMATS_TEXT}).`;

const isImageLike = (mime: string | undefined): boolean =>
  mime === undefined || mime === UNSPECIFIED_MIME || mime.startsWith('image/');

// ---------------------------------------------------------------------------------------

interface LiveSession {
  row: UploadSession;
  size: number;
  hash: Hash;
  /** Tail of the per-session queue: requests on one session run one at a time. */
  tail: Promise<unknown>;
  busy: number;
  dropped: boolean;
}

const ORPHAN_GRACE_MS = 10 * 60_000;

export function createFilesService(opts: FilesServiceOptions): FilesService {
  const { blobs, meta, limits, inspect, logger } = opts;
  const clock = opts.clock ?? Date.now;
  const orphanGraceMs = opts.orphanGraceMs ?? ORPHAN_GRACE_MS;
  const disk = opts.disk ?? noDiskGuard;

  /** Sessions loaded into memory (hash state, size), by session key. */
  const live = new Map<string, LiveSession>();
  const loading = new Map<string, Promise<LiveSession>>();
  /** Bytes being streamed that no record reserves yet, by project. */
  const streaming = new Map<string, number>();
  /** Partials of single-request uploads in progress; blobs between rename and insert. */
  const activeTemps = new Set<string>();
  const committing = new Set<string>();
  /** Inspections under way, by `project/id`. */
  const processing = new Map<string, Promise<FileRecord>>();
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<SweepReport> | undefined;

  const procKey = (project: string, id: string): string => `${project}\u0000${id}`;
  const addStreaming = (project: string, n: number): void => {
    const v = (streaming.get(project) ?? 0) + n;
    if (v <= 0) streaming.delete(project);
    else streaming.set(project, v);
  };

  const visible = (project: string, id: string): FileRecord | undefined => {
    if (!FILE_ID.test(id)) return undefined;
    const rec = meta.getFile(project, id);
    return rec && rec.expirationTime > clock() ? rec : undefined;
  };

  const newFileId = (): string => {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    const bytes = randomBytes(12);
    let id = '';
    for (const b of bytes) id += alphabet[b % 36];
    return id;
  };
  const randomKey = (): string => randomBytes(16).toString('hex');
  const sessionKeyOf = (uploadId: string): string => createHash('sha256').update(uploadId).digest('hex');

  /** Validates metadata and resolves the file id (given or generated). */
  function resolveMetadata(project: string, m: FileMetadataInput): { id: string; displayName?: string; mimeType?: string } {
    let id: string | undefined;
    if (m.name !== undefined && m.name !== '') {
      id = m.name.startsWith('files/') ? m.name.slice('files/'.length) : m.name;
      if (!FILE_ID.test(id))
        throw invalidArgument(
          `Invalid value at 'file.name' (${JSON.stringify(m.name)}): the id must be at most 40 characters of lowercase letters, digits and dashes, and must not start or end with a dash.`,
          'file.name',
        );
      if (meta.idTaken(project, id, clock())) throw alreadyExists(`File files/${id} already exists.`);
    } else {
      do id = newFileId();
      while (meta.idTaken(project, id, clock()));
    }
    if (m.displayName !== undefined && m.displayName.length > MAX_DISPLAY_NAME)
      throw invalidArgument(
        `Invalid value at 'file.displayName': must be at most ${MAX_DISPLAY_NAME} characters (got ${m.displayName.length}).`,
        'file.displayName',
      );
    return {
      id,
      ...(m.displayName ? { displayName: m.displayName } : {}),
      ...(cleanMimeType(m.mimeType) ? { mimeType: cleanMimeType(m.mimeType)! } : {}),
    };
  }

  /** Removes an expired (not yet swept) record so its id can be used again. */
  function reclaimExpired(project: string, id: string): void {
    const old = meta.getFile(project, id);
    if (!old || old.expirationTime > clock()) return;
    meta.deleteFile(project, id);
    if (old.blobKey) void blobs.deleteBlob(old.blobKey).catch((err) => logger.warn({ err }, 'could not delete blob'));
  }

  function checkProjectQuota(project: string, extra: number): void {
    if (meta.usedBytes(project, clock()) + (streaming.get(project) ?? 0) + extra > limits.projectBytes)
      throw fileQuotaExceeded(limits.projectBytes);
  }

  function newRecord(
    project: string,
    r: { id: string; displayName?: string; mimeType?: string },
    size: number,
    sha256Hex: string,
    blobKey: string,
  ): NewFileRecord {
    const now = clock();
    return {
      project,
      id: r.id,
      displayName: r.displayName,
      mimeType: r.mimeType ?? UNSPECIFIED_MIME,
      sizeBytes: size,
      sha256Hex,
      blobKey,
      state: 'PROCESSING',
      errorMessage: undefined,
      createTime: now,
      updateTime: now,
      expirationTime: now + limits.fileTtlMs,
    };
  }

  /** PROCESSING → ACTIVE | FAILED. Registered in `processing` synchronously. */
  function processFile(rec: FileRecord): Promise<FileRecord> {
    const key = procKey(rec.project, rec.id);
    const existing = processing.get(key);
    if (existing) return existing;
    const run = (async (): Promise<FileRecord> => {
      let result: InspectResult;
      const declared = rec.mimeType;
      if (!rec.blobKey || (await blobs.blobSize(rec.blobKey)) === undefined) {
        result = { ok: false, message: 'The file content was lost before it could be processed. Upload it again.' };
      } else if (!isImageLike(declared)) {
        result = { ok: false, message: imagesOnly(declared) };
      } else {
        try {
          result = await inspect(blobs.blobPath(rec.blobKey), declared);
        } catch (err) {
          logger.error({ err, file: rec.id }, 'file inspection failed');
          result = { ok: false, message: `The file could not be processed: ${(err as Error).message ?? String(err)}` };
        }
      }
      const current = meta.getFile(rec.project, rec.id);
      if (!current || current.seq !== rec.seq) return { ...rec, state: result.ok ? 'ACTIVE' : 'FAILED' };
      const patch = result.ok
        ? { state: 'ACTIVE' as const, mimeType: result.mimeType, errorMessage: undefined, updateTime: clock() }
        : { state: 'FAILED' as const, errorMessage: result.message, updateTime: clock() };
      return meta.updateFile(rec.project, rec.id, patch) ?? { ...current, ...patch };
    })().finally(() => processing.delete(key));
    processing.set(key, run);
    return run;
  }

  // --- resumable sessions --------------------------------------------------------------

  function openSessionRow(uploadId: string): UploadSession {
    const row = meta.getSession(sessionKeyOf(uploadId));
    if (!row || row.expirationTime <= clock()) throw uploadNotFound();
    return row;
  }

  async function hashPartial(uploadKey: string): Promise<{ size: number; hash: Hash }> {
    const hash = createHash('sha256');
    let size = 0;
    if ((await blobs.partialSize(uploadKey)) !== undefined) {
      for await (const chunk of blobs.readPartial(uploadKey)) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
    }
    return { size, hash };
  }

  async function loadSession(row: UploadSession): Promise<LiveSession> {
    const have = live.get(row.key);
    if (have) return have;
    const pending = loading.get(row.key);
    if (pending) return pending;
    const load = (async () => {
      // After a restart the partial object is the truth: its size is the offset, and the
      // running hash is recomputed from its bytes.
      const { size, hash } = await hashPartial(row.uploadKey);
      const session: LiveSession = { row, size, hash, tail: Promise.resolve(), busy: 0, dropped: false };
      live.set(row.key, session);
      if (row.declaredSize === undefined) addStreaming(row.project, size);
      return session;
    })().finally(() => loading.delete(row.key));
    loading.set(row.key, load);
    return load;
  }

  function dropLive(s: LiveSession): void {
    if (s.dropped) return;
    s.dropped = true;
    live.delete(s.row.key);
    if (s.row.declaredSize === undefined) addStreaming(s.row.project, -s.size);
  }

  /**
   * Runs `fn` with the session exclusively (requests on one session are serialised), or
   * `onFinal` when the upload was already finalised.
   */
  async function withSession<T>(
    uploadId: string,
    onFinal: (row: UploadSession) => Promise<T>,
    fn: (s: LiveSession) => Promise<T>,
  ): Promise<T> {
    const first = openSessionRow(uploadId);
    if (first.finalSize !== undefined) return onFinal(first);
    const s = await loadSession(first);
    s.busy++;
    const run = s.tail.then(async () => {
      // Cancelled, finalised or swept while this request waited?
      const row = meta.getSession(s.row.key);
      if (!row || row.expirationTime <= clock()) {
        dropLive(s);
        throw uploadNotFound();
      }
      if (row.finalSize !== undefined) return onFinal(row);
      return fn(s);
    });
    s.tail = run.catch(() => undefined).finally(() => s.busy--);
    return run;
  }

  /** Re-reads size and hash from the partial object (after a failure left them unsure). */
  async function resync(s: LiveSession): Promise<void> {
    const { size, hash } = await hashPartial(s.row.uploadKey);
    if (s.row.declaredSize === undefined) addStreaming(s.row.project, size - s.size);
    s.hash = hash;
    s.size = size;
  }

  async function dropSession(s: LiveSession): Promise<void> {
    dropLive(s);
    meta.deleteSession(s.row.key);
    await blobs.deletePartial(s.row.uploadKey);
  }

  /**
   * A chunk for an upload that is already final. A retry of the final chunk (its response
   * was lost: same end offset, with finalize) answers the file again; anything else would
   * be bytes silently dropped, so it is refused.
   */
  async function chunkAfterFinal(row: UploadSession, chunk: ChunkInput): Promise<UploadStatus> {
    const final = row.finalSize ?? 0;
    const len = chunk.contentLength;
    const retry =
      chunk.finalize &&
      len !== undefined &&
      (chunk.offset === undefined ? len === 0 : chunk.offset + len === final && chunk.offset <= final);
    if (retry) return finalStatus(row);
    throw apiError(
      'OCL_ERR_UPLOAD_FINALIZED',
      `The upload was already finalized as files/${row.fileId} with ${final} bytes and takes no more bytes. Start a new upload for new content.`,
      { headers: { 'X-Goog-Upload-Status': 'final', 'X-Goog-Upload-Size-Received': String(final) } },
    );
  }

  async function finalStatus(row: UploadSession): Promise<UploadStatus> {
    const rec = visible(row.project, row.fileId);
    if (!rec) throw fileNotAccessible(row.fileId);
    const file = rec.state === 'PROCESSING' ? await (processing.get(procKey(rec.project, rec.id)) ?? rec) : rec;
    return { status: 'final', received: row.finalSize ?? file.sizeBytes, file };
  }

  /** Streams `body` into `writer`, checking `check` before each chunk is written. */
  async function streamInto(
    body: AsyncIterable<Uint8Array>,
    writer: PartialWriter,
    hash: Hash,
    check: (nextSize: number) => void,
    onWritten: (n: number) => void,
  ): Promise<void> {
    let sinceDiskCheck = 0;
    await pipeline(body, async (source: AsyncIterable<Uint8Array>) => {
      for await (const chunk of source) {
        if (chunk.length === 0) continue;
        check(writer.size + chunk.length);
        if ((sinceDiskCheck += chunk.length) >= RECHECK_BYTES) {
          sinceDiskCheck = 0;
          await disk.ensure(chunk.length);
        }
        await writer.append(chunk);
        hash.update(chunk);
        onWritten(chunk.length);
      }
    });
  }

  const service: FilesService = {
    limits,

    startResumable(project, input) {
      const r = resolveMetadata(project, input.metadata);
      const declared = input.declaredSize ?? input.metadata.sizeBytes;
      if (declared !== undefined && declared > limits.fileBytes) throw tooLarge(declared, limits.fileBytes, true);
      if (declared !== undefined) checkProjectQuota(project, declared);
      reclaimExpired(project, r.id);
      const uploadId = randomBytes(24).toString('base64url');
      const key = sessionKeyOf(uploadId);
      const now = clock();
      const session: UploadSession = {
        key,
        project,
        fileId: r.id,
        displayName: r.displayName,
        mimeType: r.mimeType ?? cleanMimeType(input.mimeType),
        declaredSize: declared,
        uploadKey: `s-${key.slice(0, 40)}`,
        receivedBytes: 0,
        createTime: now,
        expirationTime: now + limits.uploadSessionTtlMs,
        finalSize: undefined,
      };
      storing(() => meta.insertSession(session));
      return { uploadId, session };
    },

    async uploadChunk(uploadId, chunk) {
      type Outcome = UploadStatus | { finalize: FileRecord };
      const result = await withSession<Outcome>(uploadId, (row) => chunkAfterFinal(row, chunk), async (s) => {
        const row = s.row;
        // Where this chunk started: a refused chunk is cut back to here.
        const before = { size: s.size, hash: s.hash.copy() };
        let writer = await blobs.openPartial(row.uploadKey);
        if (writer.size !== s.size) {
          // A failure left memory and disk out of step: the disk is the truth.
          await writer.close();
          await resync(s);
          writer = await blobs.openPartial(row.uploadKey);
        }
        const closeWriter = async (): Promise<void> => {
          // Whatever was written (also when the client went away mid-chunk) is made durable:
          // the client can query Size-Received and resume from there.
          await writer.sync().catch(() => undefined);
          await writer.close().catch(() => undefined);
        };
        if (chunk.offset !== undefined && chunk.offset !== s.size) {
          await closeWriter();
          throw apiError(
            'OCL_ERR_UPLOAD_OFFSET',
            `Invalid X-Goog-Upload-Offset ${chunk.offset}: the upload has received ${s.size} bytes; send the next bytes from offset ${s.size}.`,
            { headers: { 'X-Goog-Upload-Status': 'active', 'X-Goog-Upload-Size-Received': String(s.size) } },
          );
        }
        const overDeclared = (size: number): ApiError | undefined =>
          row.declaredSize !== undefined && size > row.declaredSize
            ? invalidArgument(
                `The chunk would take the upload to ${size} bytes, past the declared X-Goog-Upload-Header-Content-Length (${row.declaredSize}). The chunk was not stored; the upload keeps its first ${before.size} bytes.`,
              )
            : undefined;
        const limitFor = (size: number): ApiError | undefined => {
          if (size > limits.fileBytes) return tooLarge(size, limits.fileBytes);
          if (
            row.declaredSize === undefined &&
            meta.usedBytes(row.project, clock()) + (streaming.get(row.project) ?? 0) + (size - s.size) >
              limits.projectBytes
          )
            return fileQuotaExceeded(limits.projectBytes);
          return undefined;
        };
        try {
          try {
            if (chunk.contentLength !== undefined) {
              const over = overDeclared(s.size + chunk.contentLength);
              if (over) throw new RejectedChunkError(over);
              const early = limitFor(s.size + chunk.contentLength);
              if (early) throw new TerminalUploadError(early);
            }
            await disk.ensure(chunk.contentLength ?? 0);
            await streamInto(
              chunk.body,
              writer,
              s.hash,
              (next) => {
                const over = overDeclared(next);
                if (over) throw new RejectedChunkError(over);
                const err = limitFor(next);
                if (err) throw new TerminalUploadError(err);
              },
              (n) => {
                s.size += n;
                if (row.declaredSize === undefined) addStreaming(row.project, n);
              },
            );
          } catch (err) {
            if (err instanceof RejectedChunkError && s.size !== before.size) {
              // Only a declared size makes a chunk refusable, and declared uploads are not
              // counted in `streaming`: size, hash and file go back to the chunk's start.
              await writer.truncate(before.size);
              s.size = before.size;
              s.hash = before.hash;
            }
            throw err;
          } finally {
            await closeWriter();
          }
          if (!chunk.finalize) return { status: 'active', received: s.size };
          if (row.declaredSize !== undefined && s.size !== row.declaredSize)
            throw new TerminalUploadError(
              invalidArgument(
                `The upload has ${s.size} bytes but X-Goog-Upload-Header-Content-Length declared ${row.declaredSize}.`,
              ),
            );
          // Commit: move the bytes into place, then record the file and mark the session final.
          const blobKey = randomKey();
          const sha256Hex = s.hash.copy().digest('hex');
          committing.add(blobKey);
          try {
            await blobs.commit(row.uploadKey, blobKey);
            reclaimExpired(row.project, row.fileId);
            let rec: FileRecord;
            try {
              rec = meta.finalizeSession(
                row.key,
                newRecord(
                  row.project,
                  {
                    id: row.fileId,
                    ...(row.displayName ? { displayName: row.displayName } : {}),
                    ...(row.mimeType ? { mimeType: row.mimeType } : {}),
                  },
                  s.size,
                  sha256Hex,
                  blobKey,
                ),
              );
            } catch (err) {
              await blobs.deleteBlob(blobKey);
              if (/UNIQUE/.test(String(err))) throw new TerminalUploadError(alreadyExists(`File files/${row.fileId} already exists.`));
              throw err;
            }
            dropLive(s);
            return { finalize: rec };
          } finally {
            committing.delete(blobKey);
          }
        } catch (err) {
          if (err instanceof TerminalUploadError) {
            await dropSession(s);
            throw err.apiError;
          }
          if (isDiskFull(err)) {
            // A full disk: the partial goes at once (not at the session's expiry), so the
            // space comes back now; the client starts again later.
            await dropSession(s);
            throw diskFull();
          }
          if (err instanceof RejectedChunkError) throw withUploadState(err.apiError, s.size);
          if (err instanceof ApiError && err.httpStatus === 503) throw withUploadState(err, s.size);
          throw err;
        }
      });
      if ('finalize' in result) {
        const file = await processFile(result.finalize);
        return { status: 'final', received: file.sizeBytes, file };
      }
      return result;
    },

    async queryUpload(uploadId) {
      const row = openSessionRow(uploadId);
      if (row.finalSize !== undefined) return { status: 'final', received: row.finalSize };
      const s = live.get(row.key);
      const received = s ? s.size : ((await blobs.partialSize(row.uploadKey)) ?? 0);
      return { status: 'active', received };
    },

    async cancelUpload(uploadId) {
      await withSession(
        uploadId,
        async () => {
          throw apiError('OCL_ERR_UPLOAD_FINALIZED', 'The upload was already finalized and cannot be cancelled.', {
            headers: { 'X-Goog-Upload-Status': 'final' },
          });
        },
        async (s) => dropSession(s),
      );
    },

    async beginUpload(project, opts) {
      // A multipart body carries a little more than the file: `framingBytes` allows for it.
      const contentLength = opts?.contentLength;
      if (contentLength !== undefined && contentLength > limits.fileBytes + (opts?.framingBytes ?? 0))
        throw tooLarge(contentLength, limits.fileBytes);
      await disk.ensure(contentLength ?? 0);
      const uploadKey = `t-${randomKey()}`;
      activeTemps.add(uploadKey);
      let writer: PartialWriter;
      try {
        writer = await blobs.openPartial(uploadKey);
      } catch (err) {
        activeTemps.delete(uploadKey);
        throw err;
      }
      const hash = createHash('sha256');
      let received = 0;
      let sinceDiskCheck = 0;
      let done = false;
      const release = async (): Promise<void> => {
        if (done) return;
        done = true;
        addStreaming(project, -received);
        activeTemps.delete(uploadKey);
        await writer.close().catch(() => undefined);
      };
      const upload: SingleUpload = {
        get received() {
          return received;
        },
        async write(chunk) {
          if (done) throw new Error('upload already finished');
          if (chunk.length === 0) return;
          if (received + chunk.length > limits.fileBytes) throw tooLarge(received + chunk.length, limits.fileBytes);
          checkProjectQuota(project, chunk.length);
          if ((sinceDiskCheck += chunk.length) >= RECHECK_BYTES) {
            sinceDiskCheck = 0;
            await disk.ensure(chunk.length);
          }
          try {
            await writer.append(chunk);
          } catch (err) {
            // The caller's abort() removes the partial at once.
            if (isDiskFull(err)) throw diskFull();
            throw err;
          }
          hash.update(chunk);
          received += chunk.length;
          addStreaming(project, chunk.length);
        },
        async finish(metadata) {
          try {
            const r = resolveMetadata(project, metadata);
            await writer.sync();
            await writer.close();
            // Our own bytes are counted in `streaming`; the check is that the others still fit.
            checkProjectQuota(project, 0);
            const blobKey = randomKey();
            committing.add(blobKey);
            let rec: FileRecord;
            try {
              await blobs.commit(uploadKey, blobKey);
              reclaimExpired(project, r.id);
              try {
                rec = meta.insertFile(newRecord(project, r, received, hash.digest('hex'), blobKey));
              } catch (err) {
                await blobs.deleteBlob(blobKey);
                if (/UNIQUE/.test(String(err))) throw alreadyExists(`File files/${r.id} already exists.`);
                if (isDiskFull(err)) throw diskFull();
                throw err;
              }
            } finally {
              committing.delete(blobKey);
            }
            await release();
            return await processFile(rec);
          } catch (err) {
            await upload.abort();
            throw isDiskFull(err) ? diskFull() : err;
          }
        },
        async abort() {
          await release();
          await blobs.deletePartial(uploadKey);
        },
      };
      return upload;
    },

    checkMetadata(project, metadata) {
      resolveMetadata(project, metadata);
    },

    ensureDiskSpace(bytes) {
      return disk.ensure(bytes);
    },

    create(project, metadata) {
      const r = resolveMetadata(project, metadata);
      reclaimExpired(project, r.id);
      const now = clock();
      return storing(() => meta.insertFile({
        project,
        id: r.id,
        displayName: r.displayName,
        mimeType: r.mimeType ?? UNSPECIFIED_MIME,
        sizeBytes: 0,
        sha256Hex: '',
        blobKey: undefined,
        state: 'FAILED',
        errorMessage: `File files/${r.id} has no content: it was created from metadata only. Upload the bytes with POST /upload/v1beta/files (resumable, multipart or raw) to get a usable file.`,
        createTime: now,
        updateTime: now,
        expirationTime: now + limits.fileTtlMs,
      }));
    },

    get(project, id) {
      const rec = visible(project, id);
      if (!rec) throw fileNotAccessible(id);
      return rec;
    },

    list(project, { pageSize, pageToken }) {
      let size = pageSize ?? DEFAULT_PAGE_SIZE;
      if (!Number.isInteger(size) || size < 0) throw invalidArgument('pageSize must be a non-negative integer.', 'pageSize');
      if (size === 0) size = DEFAULT_PAGE_SIZE;
      size = Math.min(size, MAX_PAGE_SIZE);
      const after = pageToken ? decodePageToken(pageToken) : undefined;
      const page = meta.listFiles(project, clock(), size, after);
      return page.nextAfter === undefined
        ? { files: page.files }
        : { files: page.files, nextPageToken: encodePageToken(page.nextAfter) };
    },

    async delete(project, id) {
      const rec = visible(project, id);
      if (!rec) throw fileNotAccessible(id);
      // Record first (the file is gone at once); a crash before the bytes go leaves an
      // orphan the sweeper removes.
      meta.deleteFile(project, id);
      if (rec.blobKey) await blobs.deleteBlob(rec.blobKey);
    },

    async openForGeneration(project, ref) {
      const id = parseFileRef(ref);
      if (id === undefined)
        throw invalidArgument(
          `Unsupported file URI ${JSON.stringify(ref)}: use the uri of a file uploaded to this server's Files API (files/{id}).`,
        );
      let rec = visible(project, id);
      if (!rec) throw fileNotAccessible(id);
      if (rec.state === 'PROCESSING') {
        const pending = processing.get(procKey(project, id));
        if (pending) await pending.catch(() => undefined);
        rec = visible(project, id);
        if (!rec) throw fileNotAccessible(id);
      }
      if (rec.state !== 'ACTIVE' || !rec.blobKey)
        throw failedPrecondition(`The File ${id} is not in an ACTIVE state and usage is not allowed.`);
      return {
        name: `files/${id}`,
        mimeType: rec.mimeType,
        path: blobs.blobPath(rec.blobKey),
        sha256Hex: rec.sha256Hex,
        sizeBytes: rec.sizeBytes,
      };
    },

    sweep() {
      sweeping ??= runSweep().finally(() => (sweeping = undefined));
      return sweeping;
    },

    startSweeper() {
      if (timer) return;
      const tick = (): void => {
        void service.sweep().catch((err) => logger.error({ err }, 'files sweep failed'));
      };
      timer = setInterval(tick, limits.sweepIntervalMs);
      timer.unref();
      tick();
    },

    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await sweeping?.catch(() => undefined);
      await Promise.allSettled([...processing.values()]);
    },
  };

  async function runSweep(): Promise<SweepReport> {
    const report: SweepReport = { files: 0, sessions: 0, orphans: 0 };
    const now = clock();
    for (;;) {
      const batch = meta.expiredFiles(now, 200);
      if (batch.length === 0) break;
      for (const rec of batch) {
        // Bytes first, then the record: a crash in between leaves an expired record whose
        // bytes are already gone, which the next sweep finishes.
        if (rec.blobKey) await blobs.deleteBlob(rec.blobKey);
        if (meta.getFile(rec.project, rec.id)?.seq === rec.seq) meta.deleteFile(rec.project, rec.id);
        report.files++;
      }
      if (batch.length < 200) break;
    }
    for (const s of meta.expiredSessions(now, 1000)) {
      const l = live.get(s.key);
      if (l && l.busy > 0) continue;
      if (l) dropLive(l);
      await blobs.deletePartial(s.uploadKey);
      meta.deleteSession(s.key);
      report.sessions++;
    }
    const cutoff = Date.now() - orphanGraceMs;
    for (const b of await blobs.listBlobs()) {
      if (b.mtimeMs > cutoff || committing.has(b.key) || meta.hasBlobKey(b.key)) continue;
      await blobs.deleteBlob(b.key);
      report.orphans++;
    }
    for (const p of await blobs.listPartials()) {
      if (p.mtimeMs > cutoff || activeTemps.has(p.key) || meta.hasPartialKey(p.key)) continue;
      await blobs.deletePartial(p.key);
      report.orphans++;
    }
    if (report.files + report.sessions + report.orphans > 0) logger.info({ swept: report }, 'files swept');
    return report;
  }

  // Files left PROCESSING by a previous run: inspect them again (waiters find them in `processing`).
  for (const rec of meta.filesInState('PROCESSING', 100_000)) void processFile(rec);

  return service;
}
export type { FileRecord, FileState, UploadSession } from './store.js';
