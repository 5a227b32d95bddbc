/**
 * What the Files modules share: the stores, limits, clock and inspector passed in, and the
 * little state that is this process's own (bytes it is streaming, inspections under way,
 * keys between "bytes committed" and "row written"). Everything that must hold across
 * replicas lives in the MetaStore; this state only makes one process's view tighter.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Limits } from '../config.js';
import { alreadyExists, invalidArgument } from '../errors.js';
import type { DiskGuard } from './disk-space.js';
import type { BlobStore, FileRecord, MetaStore, NewFileRecord } from './store.js';
import { UNSPECIFIED_MIME } from './upload-errors.js';
import { cleanMimeType, type FileMetadataInput } from './wire.js';

export type InspectResult = { ok: true; mimeType: string } | { ok: false; message: string };
/** Checks the bytes at `path` are a usable image; `mimeType` is the sniffed type. */
export type Inspect = (path: string, declaredMimeType: string) => Promise<InspectResult>;

export type FilesLimits = Pick<Limits, 'fileBytes' | 'projectBytes' | 'fileTtlMs' | 'uploadSessionTtlMs' | 'sweepIntervalMs'>;

export const MAX_DISPLAY_NAME = 512;
const FILE_ID = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

export interface FilesContext {
  blobs: BlobStore;
  meta: MetaStore;
  limits: FilesLimits;
  clock: () => number;
  inspect: Inspect;
  logger: Logger;
  disk: DiskGuard;
  /** This process's name in leases (writer and sweep leases). */
  holder: string;
  /** Bytes this process is streaming that no row reserves yet, by project. */
  streaming: Map<string, number>;
  /** Blobs between "bytes committed" and "row written": not orphans. */
  committing: Set<string>;
  /** Upload keys of single-request uploads in progress: not orphans. */
  activeTemps: Set<string>;
  /** Inspections under way, by `project/id`. */
  processing: Map<string, Promise<FileRecord>>;
  /** Settles once the files a previous run left PROCESSING are registered in `processing`. */
  recovered: Promise<void>;
}

export type ResolvedMetadata = { id: string; displayName?: string; mimeType?: string };

export const procKey = (project: string, id: string): string => `${project}\u0000${id}`;
export const randomKey = (): string => randomBytes(16).toString('hex');

export function addStreaming(ctx: FilesContext, project: string, n: number): void {
  const v = (ctx.streaming.get(project) ?? 0) + n;
  if (v <= 0) ctx.streaming.delete(project);
  else ctx.streaming.set(project, v);
}

/** The record when the id is well formed and the file has not expired. */
export async function visible(ctx: FilesContext, project: string, id: string): Promise<FileRecord | undefined> {
  if (!FILE_ID.test(id)) return undefined;
  const rec = await ctx.meta.getFile(project, id);
  return rec && rec.expirationTime > ctx.clock() ? rec : undefined;
}

function newFileId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let id = '';
  for (const b of randomBytes(12)) id += alphabet[b % 36];
  return id;
}

/**
 * Validates metadata and resolves the file id (given or generated). The id check here is
 * the early answer; the insert re-checks atomically (MetaStore.insertFile/insertSession).
 */
export async function resolveMetadata(ctx: FilesContext, project: string, m: FileMetadataInput): Promise<ResolvedMetadata> {
  let id: string | undefined;
  if (m.name !== undefined && m.name !== '') {
    id = m.name.startsWith('files/') ? m.name.slice('files/'.length) : m.name;
    if (!FILE_ID.test(id))
      throw invalidArgument(
        `Invalid value at 'file.name' (${JSON.stringify(m.name)}): the id must be at most 40 characters of lowercase letters, digits and dashes, and must not start or end with a dash.`,
        'file.name',
      );
    if (await ctx.meta.idTaken(project, id, ctx.clock())) throw alreadyExists(`File files/${id} already exists.`);
  } else {
    do id = newFileId();
    while (await ctx.meta.idTaken(project, id, ctx.clock()));
  }
  if (m.displayName !== undefined && m.displayName.length > MAX_DISPLAY_NAME)
    throw invalidArgument(
      `Invalid value at 'file.displayName': must be at most ${MAX_DISPLAY_NAME} characters (got ${m.displayName.length}).`,
      'file.displayName',
    );
  const mimeType = cleanMimeType(m.mimeType);
  return { id, ...(m.displayName ? { displayName: m.displayName } : {}), ...(mimeType ? { mimeType } : {}) };
}

/** Whether the id was generated here (a collision is retried with a new one, not refused). */
export const generatedId = (m: FileMetadataInput): boolean => m.name === undefined || m.name === '';

export function newRecord(
  ctx: FilesContext,
  project: string,
  r: ResolvedMetadata,
  size: number,
  sha256Hex: string,
  blobKey: string,
): NewFileRecord {
  const now = ctx.clock();
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
    expirationTime: now + ctx.limits.fileTtlMs,
  };
}

/** Hex SHA-256 of a committed object, read back from the store. */
export async function hashBlob(blobs: BlobStore, blobKey: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of blobs.get(blobKey)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Deletes the bytes of a row an insert reclaimed (expired, not yet swept); never fails the caller. */
export function dropReclaimed(ctx: FilesContext, reclaimed: FileRecord | undefined): void {
  if (reclaimed?.blobKey)
    void ctx.blobs.delete(reclaimed.blobKey).catch((err) => ctx.logger.warn({ err }, 'could not delete blob'));
}
